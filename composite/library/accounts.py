"""Users: registration, password checks and public profiles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from composite.db import Database
from composite.library.errors import Conflict, NotFound
from composite.library.rules import check_password, check_username

# Argon2id, memory-hard; parameters from OWASP's minimum (19 MiB, 2 passes) keep a
# login near 20 ms on a small VM.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$Qc0X5xrTNsDEPZkW7+Q9Sg$ekhibqmsy55xgtVMnH9ixXSvYkiYly5BroHz80FNjh4"
)


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


def create_user(db: Database, username: str, password: str) -> User:
    """Register a user; Conflict when the name is taken (in any letter case)."""
    check_username(username)
    check_password(password)
    password_hash = _hasher.hash(password)  # slow on purpose: outside the write lock

    def insert(cur: duckdb.DuckDBPyConnection) -> User:
        taken = cur.execute("SELECT 1 FROM users WHERE username_key = ?", [username.lower()]).fetchone()
        if taken:
            raise Conflict(f"username {username!r} is taken")
        row = cur.execute(
            "INSERT INTO users (username, username_key, password_hash) VALUES (?, ?, ?)"
            " RETURNING id, username, created_at",
            [username, username.lower(), password_hash],
        ).fetchone()
        assert row is not None
        return User(*row)

    return db.write(insert)


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user with this name and password, or None."""
    row = db.fetchone(
        # A disabled user (composite admin disable) is as unknown here: same answer, same time.
        "SELECT id, username, created_at, password_hash FROM users WHERE username_key = ? AND NOT disabled",
        [(username or "").lower()],
    )
    try:
        _hasher.verify(row[3] if row else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    return User(*row[:3]) if row else None


def get_user(db: Database, user_id: int) -> User | None:
    """The user with this id, or None."""
    row = db.fetchone("SELECT id, username, created_at FROM users WHERE id = ?", [user_id])
    return User(*row) if row else None


def get_user_by_name(db: Database, username: str) -> User:
    """The user with this name (any letter case); NotFound otherwise."""
    row = db.fetchone(
        "SELECT id, username, created_at FROM users WHERE username_key = ?", [(username or "").lower()]
    )
    if row is None:
        raise NotFound(f"no user named {username!r}")
    return User(*row)


def get_profile(db: Database, username: str) -> Profile:
    """A user's public profile: counts over public prompts only."""
    user = get_user_by_name(db, username)
    row = db.fetchone(
        "SELECT count(*), coalesce(sum(stars), 0) FROM prompts WHERE owner_id = ? AND visibility = 'public'",
        [user.id],
    )
    assert row is not None
    return Profile(user.username, user.created_at, int(row[0]), int(row[1]))


def hash_password(password: str) -> str:
    """The stored form of a password (slow on purpose: call it outside the write lock)."""
    return _hasher.hash(password)
