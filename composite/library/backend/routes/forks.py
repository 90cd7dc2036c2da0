"""Forks: copy a prompt the caller can see into their own library."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from composite.library import forks
from composite.library.backend.deps import CurrentUser, DatabaseDep, PromptId
from composite.library.backend.errors import error_responses
from composite.library.backend.routes.prompts import prompt_out
from composite.library.backend.schemas import PromptOut

router = APIRouter(prefix="/prompts/{prompt_id}/fork", tags=["prompts"])

CREATED = {
    201: {
        "description": "The new prompt",
        "headers": {"Location": {"description": "The new prompt's URL", "schema": {"type": "string"}}},
    }
}


@router.post(
    "", status_code=201, response_model=PromptOut, responses={**CREATED, **error_responses(401, 404, 422)}
)
def fork_prompt(
    prompt_id: PromptId, user: CurrentUser, db: DatabaseDep, request: Request, response: Response
) -> PromptOut:
    """Copy a prompt the caller can see (their own too) into their library, as a new private prompt."""
    fork = forks.fork_prompt(db, prompt_id, user)
    response.headers["Location"] = request.app.url_path_for("read_prompt", prompt_id=str(fork.id))
    return prompt_out(db, fork, user.id)
