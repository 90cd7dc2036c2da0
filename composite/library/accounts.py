"""Users: registration, password checks and public profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from composite.db import Cursor, Database, first, row_as, row_maker, touch
from composite.library.errors import Conflict, NotFound
from composite.library.passwords import DUMMY_HASH, hash_password, verify_password
from composite.library.ratelimit import RateLimiter
from composite.library.rules import PASSWORD_MAX, USERNAME_RE, check_password, check_username

# The write scope of users, tokens and sessions: who a credential belongs to (composite.db.touch).
CREDENTIALS = "credentials"


@dataclass(frozen=True)
class User:
    """A registered person."""

    id: int
    username: str
    created_at: datetime


@dataclass(frozen=True)
class Profile:
    """What anyone may see of a user."""

    username: str
    created_at: datetime
    public_prompts: int
    stars_received: int


def charge_registration(limiter: RateLimiter, rate: str, address: str | None) -> None:
    """Count one sign-up against the client address; TooManyAttempts when over ``rate``."""
    limiter.hit(rate, "register", address or "", "too many sign-ups from this address; try again later")


def create_user(db: Database, username: str, password: str) -> User:
    """Register a user; Conflict when the name is taken (in any letter case)."""
    check_username(username)
    check_password(password)
    password_hash = hash_password(password)  # slow on purpose: outside the write lock

    def insert(cur: Cursor) -> User:
        touch(cur, CREDENTIALS)
        taken = first(cur.execute("SELECT 1 FROM users WHERE username_key = ?", [username.lower()]))
        if taken:
            raise Conflict(f"username {username!r} is taken")
        user = row_as(
            User,
            cur.execute(
                "INSERT INTO users (username, username_key, password_hash) VALUES (?, ?, ?)"
                " RETURNING id, username, created_at",
                [username, username.lower(), password_hash],
            ),
        )
        assert user is not None
        return user

    return db.write(insert)


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user with this name and password, or None."""
    username, password = username or "", password or ""
    if not USERNAME_RE.fullmatch(username) or len(password) > PASSWORD_MAX:
        return None  # no such account can exist: nothing to look up or hash
    found = db.cursor().execute(
        # A disabled user (composite admin disable) is as unknown here: same answer, same time.
        "SELECT id, username, created_at, password_hash FROM users WHERE username_key = ? AND NOT disabled",
        [username.lower()],
    )
    row = first(found)
    if not verify_password(row[-1] if row else DUMMY_HASH, password):
        return None
    return row_maker(User, found.description)(row) if row else None


def usernames(cur: Cursor, user_ids: list[int]) -> dict[int, str]:
    """Each user's name by id, in one lookup (a join from many rows would hash every user)."""
    if not user_ids:
        return {}
    return dict(
        cur.execute(
            "SELECT id, username FROM users WHERE id IN (SELECT unnest(?::BIGINT[]))", [user_ids]
        ).fetchall()
    )


def get_user(db: Database, user_id: int) -> User | None:
    """The user with this id, or None."""
    return row_as(
        User, db.cursor().execute("SELECT id, username, created_at FROM users WHERE id = ?", [user_id])
    )


def get_user_by_name(db: Database, username: str) -> User:
    """The user with this name (any letter case); NotFound otherwise."""
    user = row_as(
        User,
        db.cursor().execute(
            "SELECT id, username, created_at FROM users WHERE username_key = ?", [(username or "").lower()]
        ),
    )
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def get_profile(db: Database, username: str) -> Profile:
    """A user's public profile: counts over public prompts only."""
    user = get_user_by_name(db, username)
    row = db.fetchone(
        "SELECT count(*), coalesce(sum(stars), 0) FROM prompts WHERE owner_id = ? AND visibility = 'public'",
        [user.id],
    )
    assert row is not None
    return Profile(user.username, user.created_at, int(row[0]), int(row[1]))
