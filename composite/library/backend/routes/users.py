"""Users: registration and public profiles."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from composite.library import accounts, rules
from composite.library.backend.deps import DatabaseDep, LimiterDep, SettingsDep, client_address, public_answer
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import ProfileOut, UserCreate, UserOut

router = APIRouter(prefix="/users", tags=["users"])

UsernamePath = Annotated[str, Path(min_length=3, max_length=32, pattern=rules.USERNAME_RE.pattern)]


@router.post("", status_code=201, response_model=UserOut, responses=error_responses(400, 409, 422, 429, 503))
def create_user(
    body: UserCreate, request: Request, db: DatabaseDep, settings: SettingsDep, limiter: LimiterDep
) -> UserOut:
    """Register a new user; 409 when the name is taken in any letter case."""
    accounts.charge_registration(limiter, settings.register_rate, client_address(request))
    user = accounts.create_user(db, body.username, body.password)
    return UserOut(id=user.id, username=user.username)


@router.get(
    "/{username}",
    response_model=ProfileOut,
    responses=error_responses(404, 422),
    dependencies=[Depends(public_answer)],
)
def read_user(username: UsernamePath, db: DatabaseDep) -> ProfileOut:
    """A user's public profile, with counts over their public prompts only."""
    profile = accounts.get_profile(db, username)
    return ProfileOut(**vars(profile))
