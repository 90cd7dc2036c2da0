"""Stars: a user marks a prompt they like, at most once."""

from __future__ import annotations

from composite.db import Cursor, Database
from composite.library.accounts import User
from composite.library.prompts import load_visible


def _set_star(db: Database, prompt_id: int, user: User, starred: bool) -> int:
    def change(cur: Cursor) -> int:
        load_visible(cur, prompt_id, user.id)
        if starred:
            added = cur.execute(
                "INSERT INTO stars (user_id, prompt_id) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                [user.id, prompt_id],
            ).fetchall()
            delta = len(added)
        else:
            removed = cur.execute(
                "DELETE FROM stars WHERE user_id = ? AND prompt_id = ? RETURNING 1", [user.id, prompt_id]
            ).fetchall()
            delta = -len(removed)
        # The count lives on the prompt so lists sort by it without a join.
        row = cur.execute(
            "UPDATE prompts SET stars = stars + ? WHERE id = ? RETURNING stars", [delta, prompt_id]
        ).fetchone()
        assert row is not None
        return int(row[0])

    return db.write(change)


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
    return (
        db.fetchone("SELECT 1 FROM stars WHERE user_id = ? AND prompt_id = ?", [user_id, prompt_id])
        is not None
    )
