"""Stars: a user marks a prompt they like, at most once."""

from __future__ import annotations

from fastapi import APIRouter

from composite.library import stars
from composite.library.backend.deps import CurrentUser, DatabaseDep, PromptId
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import StarsOut

router = APIRouter(prefix="/prompts/{prompt_id}/star", tags=["stars"])


@router.put("", response_model=StarsOut, responses=error_responses(401, 404, 422))
def star_prompt(prompt_id: PromptId, user: CurrentUser, db: DatabaseDep) -> StarsOut:
    """Star a prompt the caller can see; starring twice counts once."""
    return StarsOut(stars=stars.star(db, prompt_id, user))


@router.delete("", response_model=StarsOut, responses=error_responses(401, 404, 422))
def unstar_prompt(prompt_id: PromptId, user: CurrentUser, db: DatabaseDep) -> StarsOut:
    """Remove the caller's star, if any."""
    return StarsOut(stars=stars.unstar(db, prompt_id, user))
