"""API bearer tokens and website sessions: random secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from composite.db import Cursor, Database, first, row_as, rows_as, touch
from composite.db.memo import ExactMemo
from composite.library.accounts import CREDENTIALS, User
from composite.library.errors import Conflict, NotFound
from composite.library.ratelimit import RateLimiter
from composite.library.rules import check_token_name

TOKEN_PREFIX = "pl_"  # noqa: S105 (a label, not a secret)
SESSION_LIFETIME = timedelta(days=14)
# Expired sessions removed each time one starts: bounded work per login, and since each
# login adds one session, a backlog still drains.
SESSION_PURGE_BATCH = 100
# Tokens a user may hold at once: every request that lists them (the account page, GET
# /api/tokens) reads them all, so their number must be bounded, not only their rate.
MAX_TOKENS = 100


def _digest(secret: str) -> str:
    # The secrets are 256-bit random values, so a fast hash is enough to make a
    # stolen database useless for logging in; no salt or stretching is needed.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as its owner sees it after creation: never the secret itself."""

    id: int
    name: str
    prefix: str
    created_at: datetime


def charge_token_request(limiter: RateLimiter, rate: str, address: str | None) -> None:
    """Count one token request against the client address; TooManyAttempts when over ``rate``."""
    limiter.hit(rate, "token", address or "", "too many token requests from this address; try again later")


def create_token(db: Database, user_id: int, name: str | None = None) -> tuple[str, TokenInfo]:
    """Create an API token; return the secret (shown once) and its stored description."""
    name = check_token_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)

    def insert(cur: Cursor) -> TokenInfo | None:
        touch(cur, CREDENTIALS)
        held = first(cur.execute("SELECT count(*) FROM tokens WHERE user_id = ?", [user_id]))
        if held and held[0] >= MAX_TOKENS:
            raise Conflict(
                f"you hold {MAX_TOKENS} tokens, the most allowed: revoke one before creating another"
            )
        return row_as(
            TokenInfo,
            cur.execute(
                "INSERT INTO tokens (user_id, name, token_hash, prefix) VALUES (?, ?, ?, ?)"
                " RETURNING id, name, prefix, created_at",
                [user_id, name, _digest(secret), secret[:10]],
            ),
        )

    info = db.write(insert)
    assert info is not None
    return secret, info


def list_tokens(db: Database, user_id: int) -> list[TokenInfo]:
    """The user's tokens, newest first."""
    return rows_as(
        TokenInfo,
        db.cursor().execute(
            "SELECT id, name, prefix, created_at FROM tokens WHERE user_id = ? ORDER BY id DESC", [user_id]
        ),
    )


def revoke_token(db: Database, user_id: int, token_id: int) -> None:
    """Delete one of the user's tokens; NotFound when it is not theirs."""

    def delete(cur: Cursor) -> None:
        touch(cur, CREDENTIALS)
        gone = first(
            cur.execute("DELETE FROM tokens WHERE id = ? AND user_id = ? RETURNING id", [token_id, user_id])
        )
        if gone is None:
            raise NotFound("no such token")

    db.write(delete)


def user_for_token(db: Database, secret: str) -> User | None:
    """The user a bearer token belongs to, or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(secret)
    # Kept until a write to users, tokens or sessions, however many prompts are written meanwhile.
    return _credential_memo(db).get(("token", digest), lambda: _token_user(db, digest), lambda _: 256)


def _token_user(db: Database, digest: str) -> User | None:
    return row_as(
        User,
        db.cursor().execute(
            "SELECT u.id, u.username, u.created_at FROM tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = ? AND NOT u.disabled",
            [digest],
        ),
    )


def _credential_memo(db: Database) -> ExactMemo:
    """Lookups of who a credential belongs to, kept until a commit that touches CREDENTIALS."""
    return db.scope_memo(CREDENTIALS)


def start_session(db: Database, user_id: int) -> str:
    """Open a website session for the user; return its new random id."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now()

    def insert(cur: Cursor) -> None:
        touch(cur, CREDENTIALS)
        cur.execute(
            "DELETE FROM sessions WHERE session_hash IN"
            " (SELECT session_hash FROM sessions WHERE expires_at <= ? LIMIT ?)",
            [now, SESSION_PURGE_BATCH],
        )
        cur.execute(
            "INSERT INTO sessions (session_hash, user_id, expires_at) VALUES (?, ?, ?)",
            [_digest(session_id), user_id, now + SESSION_LIFETIME],
        )

    db.write(insert)
    return session_id


def user_for_session(db: Database, session_id: str) -> User | None:
    """The user of a live session, or None when it ended or expired."""
    digest = _digest(session_id)
    # Kept until a write to users, tokens or sessions (ending a session or disabling a user is
    # one); the clock is checked here, since expiry needs no write.
    found = _credential_memo(db).get(("session", digest), lambda: _session_user(db, digest), lambda _: 256)
    if found is None or found[1] <= datetime.now():
        return None
    return found[0]


def _session_user(db: Database, digest: str) -> tuple[User, datetime] | None:
    row = db.fetchone(
        "SELECT u.id, u.username, u.created_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.session_hash = ? AND NOT u.disabled",
        [digest],
    )
    return None if row is None else (User(*row[:3]), row[3])


def end_session(db: Database, session_id: str) -> None:
    """End a website session so that its cookie no longer works anywhere."""

    def delete(cur: Cursor) -> None:
        touch(cur, CREDENTIALS)
        cur.execute("DELETE FROM sessions WHERE session_hash = ?", [_digest(session_id)])

    db.write(delete)


def secret_hash(secret: str) -> str:
    """How a session id or token is stored: to pick one out among a user's (e.g. keep it)."""
    return _digest(secret)
