"""A user changes their own password: the current one required, every other session and token ends."""

from __future__ import annotations

from composite.db import Cursor, Database, touch
from composite.library.accounts import CREDENTIALS, User, authenticate
from composite.library.credentials import secret_hash
from composite.library.errors import Invalid
from composite.library.passwords import hash_password
from composite.library.rules import check_password


def change_password(db: Database, user: User, current: str, new: str, keep: str | None = None) -> None:
    """Set a new password after checking the current one; end all sessions and tokens but ``keep``.

    ``keep`` is the session id or token the request came with: the person changing their
    password stays logged in where they are, and only there.
    """
    try:
        check_password(new)
    except Invalid as exc:
        raise Invalid({"new_password": exc.errors["password"]}) from None
    # Argon2 twice (verify, hash): about 40 ms, the cost of one login; outside the write lock.
    if authenticate(db, user.username, current) is None:
        raise Invalid({"current_password": "is not your current password"})
    password_hash = hash_password(new)
    kept = secret_hash(keep) if keep else ""

    def change(cur: Cursor) -> None:
        touch(cur, CREDENTIALS)
        cur.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user.id])
        cur.execute("DELETE FROM sessions WHERE user_id = ? AND session_hash <> ?", [user.id, kept])
        cur.execute("DELETE FROM tokens WHERE user_id = ? AND token_hash <> ?", [user.id, kept])

    db.write(change)
