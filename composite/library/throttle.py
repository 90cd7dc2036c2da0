"""Login throttling shared by the website and the token endpoint.

Failures are recorded in the database, so one budget covers both applications and
survives a restart. Two budgets: one per username *and* client address, so that
failures from one address never lock the owner out when they log in from another
(usernames are public), and one per address over every username, so that one client
cannot guess across many accounts.

Each attempt is counted as a failure *before* its password is checked, in the same write
transaction that checks the budget: writers are serialised, so however many guesses
arrive at once, no more than the budget reach the password check. A right password then
takes its reservation back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from composite.db import Cursor, Database, first, touch
from composite.library.accounts import User, authenticate
from composite.library.errors import Busy, TooManyAttempts
from composite.library.rules import USERNAME_RE
from composite.library.scopes import LOGINS

WINDOW = timedelta(minutes=15)
MAX_PER_USERNAME = 5  # per username from one address
MAX_PER_ADDRESS = 20
# Expired failures removed per attempt: bounded work, and more than one attempt adds.
PURGE_BATCH = 100


def _keys(username: str, address: str | None) -> dict[str, int]:
    keys = {}
    # A name that breaks the username rule cannot have an account: it is charged to the
    # address only, and never stored (a 900 KB "username" once was).
    if USERNAME_RE.fullmatch(username):
        keys[f"user:{username.lower()}@{address or ''}"] = MAX_PER_USERNAME
    if address:
        keys[f"ip:{address}"] = MAX_PER_ADDRESS
    return keys


def reserve_attempt(db: Database, username: str, address: str | None) -> datetime:
    """Count one attempt as failed unless over budget (TooManyAttempts); return its timestamp."""
    keys = _keys(username, address)

    def reserve(cur: Cursor) -> datetime:
        touch(cur, LOGINS)  # nothing kept reads the failures: no page or lookup is dropped
        now = datetime.now()
        since = now - WINDOW
        cur.execute(
            "DELETE FROM login_failures WHERE rowid IN"
            " (SELECT rowid FROM login_failures WHERE failed_at <= ? LIMIT ?)",
            [since, PURGE_BATCH],
        )
        for key, limit in keys.items():
            row = first(
                cur.execute(
                    "SELECT count(*), min(failed_at) FROM (SELECT failed_at FROM login_failures"
                    " WHERE key = ? AND failed_at > ? ORDER BY failed_at DESC LIMIT ?)",
                    [key, since, limit],
                )
            )
            if row and row[0] >= limit:
                retry_after = max(1, int((row[1] + WINDOW - now).total_seconds()) + 1)
                raise TooManyAttempts("too many failed logins; try again later", retry_after)
        cur.executemany("INSERT INTO login_failures VALUES (?, ?)", [[key, now] for key in keys])
        return now

    return db.write(reserve)


def release_attempt(
    db: Database, username: str, address: str | None, reserved_at: datetime, *, succeeded: bool
) -> None:
    """Take back an attempt; after a right password, also forget this name's failures from this address."""
    keys = _keys(username, address)

    def release(cur: Cursor) -> None:
        touch(cur, LOGINS)
        for key in keys:
            if succeeded and key.startswith("user:"):
                cur.execute("DELETE FROM login_failures WHERE key = ?", [key])
            else:
                cur.execute("DELETE FROM login_failures WHERE key = ? AND failed_at = ?", [key, reserved_at])

    db.write(release)


def login(db: Database, username: str, password: str, address: str | None) -> User | None:
    """Authenticate within the throttle: TooManyAttempts when over budget, None on a wrong password."""
    username = username or ""
    reserved_at = reserve_attempt(db, username, address)
    try:
        user = authenticate(db, username, password)
    except Busy:
        # The password was never checked: the attempt must not count against the budget.
        release_attempt(db, username, address, reserved_at, succeeded=False)
        raise
    if user is not None:
        release_attempt(db, username, address, reserved_at, succeeded=True)
    return user
