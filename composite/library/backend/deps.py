"""Dependencies shared by the API routes: the database, the settings and the caller."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from composite.config import Settings
from composite.db import Database
from composite.library.accounts import User
from composite.library.backend.schemas import MAX_ID, MAX_VERSION
from composite.library.credentials import user_for_token
from composite.library.errors import Unauthorized
from composite.library.idempotency import (
    HEADER,
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    Answer,
    IdempotencyKeys,
    KeepHook,
    Once,
)
from composite.library.ratelimit import RateLimiter
from composite.server.conditional import PRIVATE_REVALIDATE, SHARED_REVALIDATE
from composite.server.router import Scope

T = TypeVar("T")

bearer = HTTPBearer(
    auto_error=False,  # the dependencies below answer 401 themselves, in the API's error shape
    description="An API token from POST /api/tokens, sent as 'Authorization: Bearer <token>'",
)
# An endpoint where a token is optional: OpenAPI's empty requirement means "or none".
OPTIONAL_AUTH: dict[str, Any] = {"security": [{}]}


# The dependencies are coroutines: FastAPI runs a plain function dependency in the thread
# pool, a hop per dependency per request that cost more than the listing it served. Only the
# token lookup may read the database, and it alone is sent to a thread.


async def get_db(request: Request) -> Database:
    """The process's shared database."""
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    """The process's settings."""
    return request.app.state.settings


async def get_limiter(request: Request) -> RateLimiter:
    """The per-client rate limiter shared with the website."""
    return request.app.state.limiter


def client_address(request: Request) -> str | None:
    """The caller's address (the client's, behind a trusted proxy)."""
    return request.client.host if request.client else None


async def get_idempotency_keys(request: Request) -> IdempotencyKeys:
    """The answers kept under idempotency keys (composite/library/idempotency.py)."""
    return request.app.state.idempotency_keys


DatabaseDep = Annotated[Database, Depends(get_db)]
IdempotencyKeysDep = Annotated[IdempotencyKeys, Depends(get_idempotency_keys)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        max_length=MAX_KEY_LENGTH + 2,  # the quotes of its sf-string form
        pattern=KEY_PATTERN,
        description=(
            f"A key of your choosing (1-{MAX_KEY_LENGTH} visible ASCII characters, a UUID say), sent"
            " again unchanged when you retry. For 24 hours the same key with the same request"
            " gets the first answer again without a second write; with another request, 422;"
            " while the first is still being served, 409. Keys are per user."
        ),
    ),
]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


# Who may keep an answer (composite/server/responsecache.py keeps the public ones): an
# anonymous caller's answer is the same for everyone; a token holder's is theirs alone.
# no-cache: keep it, but check again (ETag) each time, since any write may change it.


async def public_answer(response: Response) -> None:
    """Mark an answer that is the same for every caller as one anyone may keep."""
    response.headers["Cache-Control"] = SHARED_REVALIDATE


async def optional_user(
    request: Request,
    response: Response,
    db: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    """The caller when they send a token, None when they send none; 401 for a bad token."""
    if credentials is None:
        # A header that is not a well-formed bearer token is a mistake, not anonymity.
        if "authorization" in request.headers:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        if request.method == "GET":
            response.headers["Cache-Control"] = SHARED_REVALIDATE
        return None
    response.headers["Cache-Control"] = PRIVATE_REVALIDATE
    user = await run_in_threadpool(user_for_token, db, credentials.credentials)
    if user is None:
        raise Unauthorized("the token is wrong or has been revoked")
    return user


def kept_answer(answer: Answer, response: Response) -> Response:
    """An answer kept under an idempotency key as a response, with the headers the dependencies set."""
    return Response(
        answer.body, status_code=answer.status, media_type="application/json", headers=dict(response.headers)
    )


def large_upload_check(db: Database) -> Callable[[Scope], bool]:
    """A check of a request's bearer token, before the server takes its body: a valid one?"""

    def token_holder(scope: Scope) -> bool:
        header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        scheme, _, token = header.decode("latin-1").partition(" ")
        return scheme.lower() == "bearer" and user_for_token(db, token.strip()) is not None

    return token_holder


async def required_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    """The caller, who must send a valid token; 401 otherwise."""
    if user is None:
        raise Unauthorized("this needs a token: send 'Authorization: Bearer <token>'")
    return user


OptionalUser = Annotated[User | None, Depends(optional_user)]
CurrentUser = Annotated[User, Depends(required_user)]


@dataclass(frozen=True)
class KeyedWrite:
    """A signed-in caller's write under the Idempotency-Key they sent, if any."""

    keys: IdempotencyKeys
    user_id: int
    key: str | None

    def run(
        self, digest: bytes, write: Callable[[KeepHook[T] | None], T], render: Callable[[T], Answer]
    ) -> Answer:
        """``write`` once per key and request (``digest``): the first answer again for a repeat."""
        return self.keys.run(self.user_id, self.key, digest, write, render)

    def once(self, digest: bytes) -> AbstractContextManager[Once]:
        """The request under its key, for a write that keeps its answer itself (Once.store)."""
        return self.keys.once(self.user_id, self.key, digest)


async def keyed_write(
    user: CurrentUser, keys: IdempotencyKeysDep, idempotency_key: IdempotencyKey = None
) -> KeyedWrite:
    """The caller's write under their Idempotency-Key (composite/library/idempotency.py)."""
    return KeyedWrite(keys, user.id, idempotency_key)


KeyedWriteDep = Annotated[KeyedWrite, Depends(keyed_write)]

# Bounded so that no id can overflow the database's integer columns.
PromptId = Annotated[int, Path(ge=1, le=MAX_ID, description="The prompt's id")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number, from 1")]
