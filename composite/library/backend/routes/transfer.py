"""Export the caller's prompts as JSON and import such a document, merging rather than duplicating."""

from __future__ import annotations

from fastapi import APIRouter

from composite.library import transfer
from composite.library.backend.deps import CurrentUser, DatabaseDep
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import ErrorOut, ExportDocument, ImportDocument, ImportResultOut

router = APIRouter(tags=["transfer"])


@router.get("/export", response_model=ExportDocument, responses=error_responses(401))
def export_prompts(user: CurrentUser, db: DatabaseDep) -> ExportDocument:
    """All of the caller's prompts, public and private, as an export document."""
    return ExportDocument.model_validate(transfer.export_prompts(db, user))


INTERRUPTED = {
    "model": ErrorOut,
    "description": "The import stopped part way; what it stored is kept, and sending it again finishes it",
}


@router.post(
    "/import",
    response_model=ImportResultOut,
    responses={**error_responses(400, 401, 422, 429), 503: INTERRUPTED},
)
def import_prompts(body: ImportDocument, user: CurrentUser, db: DatabaseDep) -> ImportResultOut:
    """Merge an export document into the caller's prompts: same uid updates, same content is skipped."""
    return ImportResultOut.of(transfer.import_prompts(db, user, body.to_domain()))
