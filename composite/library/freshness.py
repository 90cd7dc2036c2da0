"""What every answer about a prompt is made of, read without building the answer: for its ETag."""

from __future__ import annotations

from dataclasses import dataclass

from composite.db import Database
from composite.library.labels import Label, kept_labels, seen_by
from composite.library.prompts import kept_row, may_see, visible_row


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
    """The state of a prompt the viewer may see (NotFound otherwise), from rows kept until a write to them.

    A fork also shows its source's title while the viewer may see the source
    (composite.library.forks): that title, or None once the source is hidden or gone, is
    part of the state too. Each kept read adds its scope to the answer being made.
    """
    kept = visible_row(db, prompt_id, viewer_id)
    source_title = None
    if kept.prompt.source_id is not None:
        source = kept_row(db, kept.prompt.source_id)
        if source is not None and may_see(source.prompt.visibility, source.owner_id, viewer_id):
            source_title = source.prompt.title
    labels = seen_by(kept_labels(db, prompt_id), viewer_id, kept.owner_id)
    return PromptState(kept.row_hash, labels, source_title)
