"""What an operator does to accounts (composite admin ...): list, reset, disable, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from composite.db import Cursor, Database, first, rows_as, touch
from composite.library.accounts import CREDENTIALS, User
from composite.library.errors import NotFound
from composite.library.passwords import hash_password
from composite.library.prompts import unlink_forks
from composite.library.rules import check_password
from composite.library.scopes import EVERYTHING


@dataclass(frozen=True)
class UserRow:
    """A user as the operator sees them."""

    id: int
    username: str
    created_at: datetime
    disabled: bool
    prompts: int
    tokens: int
    sessions: int


def list_users(db: Database, limit: int = 1000) -> list[UserRow]:
    """Users in id order with their counts, at most ``limit`` of them."""
    return rows_as(
        UserRow,
        db.cursor().execute(
            "SELECT u.id, u.username, u.created_at, u.disabled,"
            " (SELECT count(*) FROM prompts p WHERE p.owner_id = u.id) AS prompts,"
            " (SELECT count(*) FROM tokens t WHERE t.user_id = u.id) AS tokens,"
            " (SELECT count(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > now()) AS sessions"
            " FROM users u ORDER BY u.id LIMIT ?",
            [limit],
        ),
    )


def _user_id(cur: Cursor, username: str) -> int:
    row = first(cur.execute("SELECT id FROM users WHERE username_key = ?", [(username or "").lower()]))
    if row is None:
        raise NotFound(f"no user named {username!r}")
    return int(row[0])


def end_sessions_and_tokens(cur: Cursor, user_id: int, keep_session: str = "") -> None:
    """End every website session (but ``keep_session``, a hash) and API token of a user."""
    touch(cur, CREDENTIALS)
    cur.execute("DELETE FROM sessions WHERE user_id = ? AND session_hash <> ?", [user_id, keep_session])
    cur.execute("DELETE FROM tokens WHERE user_id = ?", [user_id])


def reset_password(db: Database, username: str, password: str) -> None:
    """Give a user a new password and end all their sessions and tokens."""
    check_password(password)
    password_hash = hash_password(password)  # slow on purpose: outside the write lock

    def reset(cur: Cursor) -> None:
        user_id = _user_id(cur, username)
        touch(cur, CREDENTIALS)
        cur.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user_id])
        end_sessions_and_tokens(cur, user_id)

    db.write(reset)


def set_disabled(db: Database, username: str, disabled: bool) -> None:
    """Disable (ending every session and token) or enable a user."""

    def change(cur: Cursor) -> None:
        user_id = _user_id(cur, username)
        # Rare, and what a disabled user's pages show is not worth telling apart: every scope.
        touch(cur, CREDENTIALS, EVERYTHING)
        cur.execute("UPDATE users SET disabled = ? WHERE id = ?", [disabled, user_id])
        if disabled:
            end_sessions_and_tokens(cur, user_id)

    db.write(change)


def delete_user(db: Database, username: str) -> int:
    """Delete a user with their prompts (versions, labels, stars, index rows), tokens and sessions."""

    def delete(cur: Cursor) -> int:
        user_id = _user_id(cur, username)
        touch(cur, CREDENTIALS, EVERYTHING)  # their prompts, stars and forks: everywhere
        owned = "SELECT id FROM prompts WHERE owner_id = ?"
        # Stars this user gave to other people's prompts: keep those prompts' counts true.
        cur.execute(
            "UPDATE prompts SET stars = stars - 1 WHERE owner_id <> ?"
            " AND id IN (SELECT prompt_id FROM stars WHERE user_id = ?)",
            [user_id, user_id],
        )
        cur.execute("DELETE FROM stars WHERE user_id = ?", [user_id])
        unlink_forks(cur, owned, [user_id])
        for table in ("search_terms", "prompt_versions", "prompt_labels", "stars"):
            cur.execute(f"DELETE FROM {table} WHERE prompt_id IN ({owned})", [user_id])
        row = cur.execute("DELETE FROM prompts WHERE owner_id = ? RETURNING 1", [user_id]).fetchall()
        end_sessions_and_tokens(cur, user_id)
        cur.execute("DELETE FROM users WHERE id = ?", [user_id])
        return len(row)

    return db.write(delete)


def is_disabled(db: Database, user: User) -> bool:
    """True when an operator has disabled this user."""
    row = db.fetchone("SELECT disabled FROM users WHERE id = ?", [user.id])
    return bool(row and row[0])
