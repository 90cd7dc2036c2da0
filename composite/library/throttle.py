"""Login throttling shared by the website and the token endpoint.

Failures are recorded in the database, so one budget covers both applications and
survives a restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from composite.db import Cursor, Database
from composite.library.accounts import User, authenticate
from composite.library.errors import TooManyAttempts

WINDOW = timedelta(minutes=15)
MAX_PER_USERNAME = 5
MAX_PER_ADDRESS = 20


def _keys(username: str, address: str | None) -> dict[str, int]:
    keys = {f"user:{(username or '').lower()}": MAX_PER_USERNAME}
    if address:
        keys[f"ip:{address}"] = MAX_PER_ADDRESS
    return keys


def check_allowed(db: Database, username: str, address: str | None) -> None:
    """Raise TooManyAttempts when the username or the address has failed too often lately."""
    now = datetime.now()
    for key, limit in _keys(username, address).items():
        row = db.fetchone(
            "SELECT count(*), min(failed_at) FROM (SELECT failed_at FROM login_failures"
            " WHERE key = ? AND failed_at > ? ORDER BY failed_at DESC LIMIT ?)",
            [key, now - WINDOW, limit],
        )
        if row and row[0] >= limit:
            retry_after = max(1, int((row[1] + WINDOW - now).total_seconds()) + 1)
            raise TooManyAttempts("too many failed logins; try again later", retry_after)


def record_failure(db: Database, username: str, address: str | None) -> None:
    """Count one failed login against the username and the address."""
    now = datetime.now()

    def record(cur: Cursor) -> None:
        cur.execute("DELETE FROM login_failures WHERE failed_at < ?", [now - WINDOW])
        for key in _keys(username, address):
            cur.execute("INSERT INTO login_failures VALUES (?, ?)", [key, now])

    db.write(record)


def login(db: Database, username: str, password: str, address: str | None) -> User | None:
    """Authenticate within the throttle: TooManyAttempts when over budget, None on a wrong password."""
    check_allowed(db, username, address)
    user = authenticate(db, username, password)
    if user is None:
        record_failure(db, username, address)
        return None
    db.write(
        lambda cur: cur.execute("DELETE FROM login_failures WHERE key = ?", [f"user:{user.username.lower()}"])
    )
    return user
