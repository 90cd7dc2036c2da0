"""Stars: a user marks a prompt they like, at most once, and lists what they starred."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from composite.library import catalog, stars
from composite.library.backend.deps import (
    CurrentUser,
    DatabaseDep,
    KeyedWriteDep,
    PromptId,
    kept_answer,
)
from composite.library.backend.errors import error_responses
from composite.library.backend.routes.prompts import page_out
from composite.library.backend.routes.users import UsernamePath
from composite.library.backend.schemas import MAX_OFFSET, PromptPage, StarsOut
from composite.library.errors import Forbidden
from composite.library.idempotency import answer_json, request_digest

router = APIRouter(tags=["stars"])


@router.put(
    "/prompts/{prompt_id}/star", response_model=StarsOut, responses=error_responses(401, 404, 409, 422)
)
def star_prompt(
    prompt_id: PromptId,
    user: CurrentUser,
    db: DatabaseDep,
    keyed: KeyedWriteDep,
    response: Response,
) -> Response:
    """Star a prompt the caller can see; starring twice counts once."""
    answer = keyed.run(
        request_digest("star", str(prompt_id)),
        lambda then: stars.star(db, prompt_id, user, then),
        lambda count: answer_json(200, StarsOut(stars=count)),
    )
    return kept_answer(answer, response)


@router.delete("/prompts/{prompt_id}/star", response_model=StarsOut, responses=error_responses(401, 404, 422))
def unstar_prompt(prompt_id: PromptId, user: CurrentUser, db: DatabaseDep) -> StarsOut:
    """Remove the caller's star, if any."""
    return StarsOut(stars=stars.unstar(db, prompt_id, user))


@router.get(
    "/users/{username}/stars",
    response_model=PromptPage,
    responses=error_responses(401, 403, 422),
    description="The prompts the caller starred that they may still see, the latest starred first."
    " Stars are private: a user lists only their own (403 for anyone else's), since nothing"
    " showed who starred what when those stars were given.",
)
def list_stars(
    username: UsernamePath,
    user: CurrentUser,
    db: DatabaseDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=catalog.MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The caller's own starred prompts, the latest starred first."""
    if username.lower() != user.username.lower():
        raise Forbidden("stars are private: you may list only your own")
    return page_out(db, stars.starred_prompts(db, user, limit, offset), user.id, response)
