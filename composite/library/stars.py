"""Stars: a user marks a prompt they like, at most once, and finds their starred prompts again."""

from __future__ import annotations

from collections.abc import Sequence

from composite.db import Cursor, Database, first, rows_as, touch, unchanged
from composite.db.groupcommit import Then
from composite.library import scopes
from composite.library.accounts import User
from composite.library.catalog import MAX_LIMIT, Page
from composite.library.errors import Invalid, NotFound
from composite.library.prompts import PROMPT_COLUMNS, VISIBLE_TO, Prompt, may_see, missing
from composite.library.scopes import BY_STARS, LISTED


def _set_star(db: Database, prompt_id: int, user: User, starred: bool, then: Then | None = None) -> int:
    """Star or unstar, in a transaction shared with the stars and unstars sent meanwhile."""
    # A star's work is a few statements; its commit and the write lock's hand-over cost as
    # much again, so a stream of stars shares them (composite/db/groupcommit.py).
    result = db.group_commit(_write_stars).submit((prompt_id, user.id, starred), then=_if_found(then))
    if isinstance(result, NotFound):
        raise result
    return result


def _if_found(then: Then | None) -> Then | None:
    """``then``, called only for an item whose prompt was found (nothing is written for the others)."""
    if then is None:
        return None
    return lambda cur, count: None if isinstance(count, NotFound) else then(cur, count)


def _write_stars(cur: Cursor, items: Sequence[tuple[int, int, bool]]) -> list[int | NotFound]:
    """A batch of stars and unstars in two reads and at most three writes: each count after it, or NotFound.

    The items are played in order in memory over the rows read first, and only what changes
    is written: a star and an unstar of one pair in one batch write nothing (and never
    insert a key the same transaction deleted, which DuckDB refuses).
    """
    prompt_ids = sorted({prompt_id for prompt_id, _, _ in items})
    found = cur.execute(
        "SELECT id, visibility, owner_id, stars FROM prompts WHERE id IN (SELECT unnest(?::BIGINT[]))",
        [prompt_ids],
    ).fetchall()
    rows = {prompt_id: (visibility, owner_id, count) for prompt_id, visibility, owner_id, count in found}
    pairs = sorted({(user_id, prompt_id) for prompt_id, user_id, _ in items})
    had = set(
        cur.execute(
            "SELECT s.user_id, s.prompt_id FROM stars s JOIN (SELECT unnest(?::BIGINT[]) AS user_id,"
            " unnest(?::BIGINT[]) AS prompt_id) p USING (user_id, prompt_id)",
            [[user for user, _ in pairs], [prompt for _, prompt in pairs]],
        ).fetchall()
    )
    starred_now = set(had)
    counts = {prompt_id: row[2] for prompt_id, row in rows.items()}
    results: list[int | NotFound] = []
    for prompt_id, user_id, starred in items:
        row = rows.get(prompt_id)
        if row is None or not may_see(row[0], row[1], user_id):
            results.append(missing(prompt_id))
            continue
        pair = (user_id, prompt_id)
        if starred and pair not in starred_now:
            starred_now.add(pair)
            counts[prompt_id] += 1
        elif not starred and pair in starred_now:
            starred_now.discard(pair)
            counts[prompt_id] -= 1
        results.append(counts[prompt_id])
    added, removed = sorted(starred_now - had), sorted(had - starred_now)
    changed = sorted({prompt_id for _, prompt_id in added + removed})
    if not changed:  # stars already there, unstars of none: no reader's answer moves
        unchanged(cur)
        return results
    touch(cur, BY_STARS, *scopes.prompts(changed), *(scopes.starred(user) for user, _ in added + removed))
    for sql, moved in (
        ("INSERT INTO stars (user_id, prompt_id) SELECT unnest(?::BIGINT[]), unnest(?::BIGINT[])", added),
        (
            "DELETE FROM stars WHERE (user_id, prompt_id) IN"
            " (SELECT (unnest(?::BIGINT[]), unnest(?::BIGINT[])))",
            removed,
        ),
    ):
        if moved:
            cur.execute(sql, [[user for user, _ in moved], [prompt for _, prompt in moved]])
    # The count lives on the prompt so lists sort by it without a join.
    cur.execute(
        "UPDATE prompts SET stars = c.n FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::BIGINT[]) AS n) c"
        " WHERE prompts.id = c.id",
        [changed, [counts[prompt_id] for prompt_id in changed]],
    )
    return results


def star(db: Database, prompt_id: int, user: User, then: Then | None = None) -> int:
    """Star a prompt the user can see (idempotent); return its star count.

    ``then(cursor, count)`` runs in the star's transaction once it is written.
    """
    return _set_star(db, prompt_id, user, True, then)


def unstar(db: Database, prompt_id: int, user: User) -> int:
    """Remove the user's star (idempotent); return the prompt's star count."""
    return _set_star(db, prompt_id, user, False)


def has_starred(db: Database, prompt_id: int, user_id: int | None) -> bool:
    """True when the user has starred the prompt."""
    if user_id is None:
        return False
    with db.reading(scopes.prompt(prompt_id)):
        row = db.fetchone("SELECT 1 FROM stars WHERE user_id = ? AND prompt_id = ?", [user_id, prompt_id])
    return row is not None


def starred_prompts(db: Database, user: User, limit: int = 20, offset: int = 0) -> Page:
    """The prompts the user starred and may still see, the latest starred first.

    A star outlives its prompt being made private; such a prompt is then left out (and not
    counted) rather than shown to someone who may no longer see it.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid({"limit": f"must be 1-{MAX_LIMIT}"})
    if offset < 0:
        raise Invalid({"offset": "must not be negative"})
    starred = f"FROM stars s JOIN prompts p ON p.id = s.prompt_id WHERE s.user_id = ? AND {VISIBLE_TO}"
    with db.reading(scopes.starred(user.id), LISTED) as also:
        cur = db.cursor()
        row = first(cur.execute(f"SELECT count(*) {starred}", [user.id, user.id]))
        total = int(row[0]) if row else 0
        # The page's ids are ordered over the narrow star rows; the full rows fetched for them alone.
        result = cur.execute(
            f"SELECT {PROMPT_COLUMNS} FROM (SELECT s.prompt_id AS id, s.created_at AS starred_at {starred}"
            " ORDER BY s.created_at DESC, s.prompt_id DESC LIMIT ? OFFSET ?) page"
            " JOIN prompts p ON p.id = page.id JOIN users u ON u.id = p.owner_id"
            " ORDER BY page.starred_at DESC, page.id DESC",
            [user.id, user.id, limit, offset],
        )
        items = tuple(rows_as(Prompt, result))
        also(scopes.prompts(p.id for p in items))
    return Page(items, total, limit, offset)
