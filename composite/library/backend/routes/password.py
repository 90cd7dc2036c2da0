"""The caller changes their own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field

from composite.library import password_change, rules
from composite.library.backend.deps import CurrentUser, DatabaseDep, bearer
from composite.library.backend.errors import error_responses

router = APIRouter(tags=["users"])


class PasswordChange(BaseModel):
    """The current password and the new one."""

    current_password: str = Field(max_length=rules.PASSWORD_MAX)
    new_password: str = Field(min_length=rules.PASSWORD_MIN, max_length=rules.PASSWORD_MAX)


@router.put("/password", status_code=204, responses=error_responses(400, 401, 422))
def change_password(
    body: PasswordChange,
    user: CurrentUser,
    db: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Change the caller's password; every other token and website session of theirs ends."""
    keep = credentials.credentials if credentials is not None else None
    password_change.change_password(db, user, body.current_password, body.new_password, keep=keep)
