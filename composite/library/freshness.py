"""What every answer about a prompt is made of, read without building the answer: for its ETag."""

from __future__ import annotations

from dataclasses import dataclass

from composite.db import Database
from composite.library.errors import NotFound
from composite.library.labels import Label, visible_labels
from composite.library.prompts import VISIBLE_TO


@dataclass(frozen=True)
class PromptState:
    """A prompt as the viewer may see it, reduced to what changes whenever anything shown of it changes."""

    row: int  # a hash of the prompt's whole row
    labels: list[Label]  # the labels the viewer may see

    def parts(self) -> tuple[object, ...]:
        """The state as plain values, for an entity tag."""
        return self.row, tuple((label.name, label.version) for label in self.labels)


def prompt_state(db: Database, prompt_id: int, viewer_id: int | None) -> PromptState:
    """The state of a prompt the viewer may see (NotFound otherwise), in two or three lookups by key."""
    cur = db.cursor()
    # The whole row rather than chosen columns: version, stars, visibility and any column
    # added later (a fork count) change the hash without this query having to know them.
    # Only the owner's id of the users table is in it; usernames never change. A fork also
    # shows its source's title while the viewer may see the source (composite.library.forks):
    # that title, or NULL once the source is hidden or gone, is hashed in too.
    row = cur.execute(
        f"SELECT hash(p, (SELECT s.title FROM prompts s WHERE s.id = p.source_id"
        f" AND (s.visibility = 'public' OR s.owner_id = ?))), p.owner_id"
        f" FROM prompts p WHERE p.id = ? AND {VISIBLE_TO}",
        [viewer_id, prompt_id, viewer_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"no prompt {prompt_id}")
    return PromptState(int(row[0]), visible_labels(cur, prompt_id, viewer_id, int(row[1])))
