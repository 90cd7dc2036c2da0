"""Labels: the owner points a name (production, staging) at a version; applications fetch by it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from composite.library import labels
from composite.library.backend.deps import CurrentUser, DatabaseDep, PromptId
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import LabelName, LabelOut, LabelSet

router = APIRouter(prefix="/prompts/{prompt_id}/labels", tags=["labels"])

NameInPath = Annotated[LabelName, Path(description="The label's name: 1-32 characters of a-z, 0-9 and '-'")]


@router.put(
    "/{name}",
    response_model=LabelOut,
    responses={
        200: {"description": "The label was moved, or already pointed at that version"},
        201: {"model": LabelOut, "description": "The label is new"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
def set_label(
    prompt_id: PromptId,
    name: NameInPath,
    body: LabelSet,
    user: CurrentUser,
    db: DatabaseDep,
    response: Response,
) -> LabelOut:
    """Point the caller's label at a version of their prompt: 201 when new, 200 when moved or unchanged."""
    label, created = labels.set_label(db, prompt_id, name, body.version, user)
    if created:
        response.status_code = 201
    return LabelOut.of(prompt_id, label)


@router.delete(
    "/{name}", status_code=204, response_class=Response, responses=error_responses(401, 403, 404, 422)
)
def remove_label(prompt_id: PromptId, name: NameInPath, user: CurrentUser, db: DatabaseDep) -> None:
    """Remove the caller's label; the version it pointed at stays."""
    labels.remove_label(db, prompt_id, name, user)
