"""API tokens: exchanged for a username and password, listed and revoked by their owner."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from composite.library import credentials, throttle
from composite.library.backend.deps import CurrentUser, DatabaseDep, LimiterDep, SettingsDep, client_address
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import MAX_ID, TokenCreate, TokenInfoOut, TokenOut
from composite.library.errors import Unauthorized

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post(
    "", status_code=201, response_model=TokenOut, responses=error_responses(400, 401, 409, 422, 429, 503)
)
def create_token(
    body: TokenCreate, request: Request, db: DatabaseDep, settings: SettingsDep, limiter: LimiterDep
) -> TokenOut:
    """Create a token for a username and password; the token is shown this once."""
    address = client_address(request)
    credentials.charge_token_request(limiter, settings.token_rate, address)
    # Failures count against the same budget as the website's login form.
    user = throttle.login(db, body.username, body.password, address)
    if user is None:
        raise Unauthorized("wrong username or password")
    secret, info = credentials.create_token(db, user.id, body.name)
    return TokenOut(token=secret, **vars(info))


@router.get("", response_model=list[TokenInfoOut], responses=error_responses(401))
def list_tokens(user: CurrentUser, db: DatabaseDep) -> list[TokenInfoOut]:
    """The caller's tokens, newest first (never the secrets)."""
    return [TokenInfoOut(**vars(info)) for info in credentials.list_tokens(db, user.id)]


@router.delete(
    "/{token_id}", status_code=204, response_class=Response, responses=error_responses(401, 404, 422)
)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, db: DatabaseDep) -> None:
    """Revoke one of the caller's tokens; it stops working at once."""
    credentials.revoke_token(db, user.id, token_id)
