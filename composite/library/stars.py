"""Stars: a user marks a prompt they like, at most once, and finds their starred prompts again."""

from __future__ import annotations

from collections.abc import Sequence

from composite.db import Cursor, Database, first, rows_as, touch
from composite.library import scopes
from composite.library.accounts import User
from composite.library.catalog import MAX_LIMIT, Page
from composite.library.errors import Invalid, NotFound
from composite.library.prompts import PROMPT_COLUMNS, VISIBLE_TO, Prompt, load_visible
from composite.library.scopes import BY_STARS, LISTED


def _set_star(db: Database, prompt_id: int, user: User, starred: bool) -> int:
    """Star or unstar, in a transaction shared with the stars and unstars sent meanwhile."""
    # A star's work is a few statements; its commit and the write lock's hand-over cost as
    # much again, so a stream of stars shares them (composite/db/groupcommit.py).
    result = db.group_commit(_write_stars).submit((prompt_id, user.id, starred))
    if isinstance(result, NotFound):
        raise result
    return result


def _write_stars(cur: Cursor, items: Sequence[tuple[int, int, bool]]) -> list[int | NotFound]:
    """Each star or unstar in turn: the prompt's count after it, or NotFound for one the user cannot see."""
    results: list[int | NotFound] = []
    for prompt_id, user_id, starred in items:
        try:
            load_visible(cur, prompt_id, user_id)
        except NotFound as exc:  # raised before this item wrote anything: the others stand
            results.append(exc)
            continue
        results.append(_change_star(cur, prompt_id, user_id, starred))
    return results


def _change_star(cur: Cursor, prompt_id: int, user_id: int, starred: bool) -> int:
    touch(cur, scopes.prompt(prompt_id), BY_STARS, scopes.starred(user_id))
    if starred:
        added = cur.execute(
            "INSERT INTO stars (user_id, prompt_id) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1",
            [user_id, prompt_id],
        ).fetchall()
        delta = len(added)
    else:
        removed = cur.execute(
            "DELETE FROM stars WHERE user_id = ? AND prompt_id = ? RETURNING 1", [user_id, prompt_id]
        ).fetchall()
        delta = -len(removed)
    # The count lives on the prompt so lists sort by it without a join.
    row = first(
        cur.execute("UPDATE prompts SET stars = stars + ? WHERE id = ? RETURNING stars", [delta, prompt_id])
    )
    assert row is not None
    return int(row[0])


def star(db: Database, prompt_id: int, user: User) -> int:
    """Star a prompt the user can see (idempotent); return its star count."""
    return _set_star(db, prompt_id, user, True)


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
