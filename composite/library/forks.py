"""Forks: copy a prompt someone can see into their own library, linked back to where it came from.

A fork is an ordinary prompt of its new owner (private at first, exported and imported like
any other) that remembers its source's id. The source counts its public forks only: a
private fork is its owner's business, and counting it would tell every reader that someone
copied the prompt. The count is one number for every viewer, the owner of a private fork
included (their copy is in their own library, and counts once they publish it): a viewer's
own private forks added in would cost every read a question about who asks, and make an
anonymous page and a signed-in one disagree. The link back is shown only to a viewer who may
see the source now: it may since have been made private.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from composite.db import Cursor, Database
from composite.db.groupcommit import Then
from composite.library import scopes
from composite.library.accounts import User, usernames
from composite.library.prompts import CONTENT_FIELDS, Prompt, insert_prompt, kept_row, load_visible, may_see


@dataclass(frozen=True)
class ForkSource:
    """The prompt a fork was copied from, as a viewer who may see it is shown it."""

    id: int
    title: str
    owner: str


def fork_prompt(db: Database, prompt_id: int, user: User, then: Then | None = None) -> Prompt:
    """Copy a prompt the user can see (their own too) into their library as a private prompt.

    ``then(cursor, fork)`` runs in the fork's transaction once it is written.
    """

    def fork(cur: Cursor) -> Prompt:
        source = load_visible(cur, prompt_id, user.id)
        content = {name: getattr(source, name) for name in CONTENT_FIELDS}
        fork_id = insert_prompt(cur, user, {**content, "visibility": "private"}, source_id=source.id)
        # Private, so not counted yet: the source's count moves when the fork is published
        # (composite.library.prompts keeps it with every change of visibility and delete).
        forked = load_visible(cur, fork_id, user.id)
        if then is not None:
            then(cur, forked)
        return forked

    return db.write(fork)


def visible_sources(db: Database, prompts: Iterable[Prompt], viewer_id: int | None) -> dict[int, ForkSource]:
    """The sources of these prompts that the viewer may see, by id (a page's worth in two queries)."""
    ids = sorted({p.source_id for p in prompts if p.source_id is not None})
    if not ids:
        return {}
    # Usernames never change, and a user's deletion moves every scope: the sources' own do.
    with db.reading(*scopes.prompts(ids)):
        found = db.fetchall(
            "SELECT p.id, p.title, p.owner_id, p.visibility FROM prompts p"
            " WHERE p.id IN (SELECT unnest(?::BIGINT[]))",
            [ids],
        )
        rows = [row[:3] for row in found if may_see(row[3], row[2], viewer_id)]
        if not rows:
            return {}
        names = usernames(db.cursor(), sorted({row[2] for row in rows}))
    return {pid: ForkSource(pid, title, names.get(owner, "")) for pid, title, owner in rows}


def visible_source(db: Database, prompt: Prompt, viewer_id: int | None) -> ForkSource | None:
    """The prompt's source if it is a fork and the viewer may see the source, else None."""
    if prompt.source_id is None:
        return None
    source = kept_row(db, prompt.source_id)  # the page's own read: kept as the prompt is
    if source is None or not may_see(source.prompt.visibility, source.owner_id, viewer_id):
        return None
    return ForkSource(source.prompt.id, source.prompt.title, source.prompt.owner)
