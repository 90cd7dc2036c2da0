"""What every answer about a prompt is made of, read without building the answer: for its ETag."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from composite.db import Database, first
from composite.library import scopes
from composite.library.errors import NotFound
from composite.library.labels import Label, visible_labels
from composite.library.prompts import may_see


@dataclass(frozen=True)
class PromptState:
    """A prompt as the viewer may see it, reduced to what changes whenever anything shown of it changes."""

    row: int  # a hash of the prompt's whole row
    labels: list[Label]  # the labels the viewer may see
    source_title: str | None = None  # a fork's source's title while the viewer may see it

    def parts(self) -> tuple[object, ...]:
        """The state as plain values, for an entity tag."""
        return self.row, self.source_title, tuple((label.name, label.version) for label in self.labels)


def prompt_state(db: Database, prompt_id: int, viewer_id: int | None) -> PromptState:
    """The state of a prompt the viewer may see (NotFound otherwise), in two or three lookups by key."""
    with db.reading(scopes.prompt(prompt_id)) as also:
        return _state(db, prompt_id, viewer_id, also)


def _state(
    db: Database, prompt_id: int, viewer_id: int | None, also: Callable[[list[str]], None]
) -> PromptState:
    cur = db.cursor()
    # The whole row rather than chosen columns: version, stars, visibility and any column
    # added later (a fork count) change the hash without this query having to know them.
    # Only the owner's id of the users table is in it; usernames never change. A fork also
    # shows its source's title while the viewer may see the source (composite.library.forks):
    # that title, or None once the source is hidden or gone, is part of the state too. It is
    # read apart: as a subquery, DuckDB joined every prompt to find the one source.
    row = first(
        cur.execute(
            "SELECT hash(p), p.owner_id, p.source_id, p.visibility FROM prompts p WHERE p.id = ?", [prompt_id]
        )
    )
    if row is None or not may_see(row[3], row[1], viewer_id):
        raise NotFound(f"no prompt {prompt_id}")
    source_title = None
    if row[2] is not None:
        also(scopes.prompts([row[2]]))
        found = first(
            cur.execute("SELECT p.title, p.visibility, p.owner_id FROM prompts p WHERE p.id = ?", [row[2]])
        )
        source_title = found[0] if found and may_see(found[1], found[2], viewer_id) else None
    labels = visible_labels(cur, prompt_id, viewer_id, int(row[1]))
    return PromptState(int(row[0]), labels, source_title)
