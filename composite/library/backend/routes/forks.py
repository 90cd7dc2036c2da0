"""Forks: copy a prompt the caller can see into their own library."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response

from composite.library import forks
from composite.library.backend.deps import (
    CurrentUser,
    DatabaseDep,
    KeyedWriteDep,
    PromptId,
    kept_answer,
)
from composite.library.backend.errors import error_responses
from composite.library.backend.routes.prompts import prompt_out
from composite.library.backend.schemas import PromptOut
from composite.library.idempotency import answer_json, request_digest
from composite.server.gone import ensure_wanted

router = APIRouter(prefix="/prompts/{prompt_id}/fork", tags=["prompts"])

CREATED = {
    201: {
        "description": "The new prompt",
        "headers": {"Location": {"description": "The new prompt's URL", "schema": {"type": "string"}}},
    }
}


@router.post(
    "",
    status_code=201,
    response_model=PromptOut,
    responses={**CREATED, **error_responses(401, 404, 409, 422)},
)
def fork_prompt(
    prompt_id: PromptId,
    user: CurrentUser,
    db: DatabaseDep,
    keyed: KeyedWriteDep,
    request: Request,
    response: Response,
) -> Response:
    """Copy a prompt the caller can see (their own too) into their library, as a new private prompt."""
    ensure_wanted()  # its write is no group commit's, which would check when it took it
    answer = keyed.run(
        request_digest("fork", str(prompt_id)),
        lambda then: forks.fork_prompt(db, prompt_id, user, then),
        lambda forked: answer_json(201, prompt_out(db, forked, user.id)),
    )
    fork_id = json.loads(answer.body)["id"]
    response.headers["Location"] = request.app.url_path_for("read_prompt", prompt_id=str(fork_id))
    return kept_answer(answer, response)
