"""Export the caller's prompts as JSON; import an export or a CSV file, merging rather than duplicating."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request

from composite.config import Settings
from composite.library import transfer
from composite.library.backend.deps import CurrentUser, DatabaseDep
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import ErrorOut, ExportDocument, ImportDocument, ImportResultOut
from composite.library.errors import UnsupportedMediaType

router = APIRouter(tags=["transfer"])


@router.get("/export", response_model=ExportDocument, responses=error_responses(401))
def export_prompts(user: CurrentUser, db: DatabaseDep) -> ExportDocument:
    """All of the caller's prompts, public and private, as an export document."""
    return ExportDocument.model_validate(transfer.export_prompts(db, user))


INTERRUPTED = {
    "model": ErrorOut,
    "description": "The import stopped part way; what it stored is kept, and sending it again finishes it",
}
CSV_EXAMPLE = (
    'act,prompt,tags\n"Act as a Linux terminal","I want you to act as a Linux terminal.","shell, linux"\n'
)


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its $defs written in place, to stand alone in a request body."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


IMPORT_BODY = {
    "required": True,
    "description": (
        f"A file of up to {transfer.IMPORT_MAX_BYTES // 2**20} MiB and {transfer.MAX_IMPORT:,} prompts:"
        " an export document (`application/json`), or CSV (`text/csv`, UTF-8) with a header row"
        " naming `title` and `body` columns (or `act` and `prompt`) and optionally `description`,"
        " `tags` (separated by commas) and `visibility`."
    ),
    "content": {
        "application/json": {"schema": _inlined(ImportDocument.model_json_schema())},
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
    },
}


def _kind(request: Request) -> Literal["json", "csv"]:
    """Which reader the body needs, from its Content-Type; 415 for any other."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "text/csv":
        return "csv"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    raise UnsupportedMediaType("send the file as application/json (an export) or text/csv")


async def spooled_body(request: Request) -> AsyncIterator[IO[bytes]]:
    """The request body in a temporary file, read on the event loop (no database call here)."""
    settings: Settings = request.app.state.settings
    # The body arrives spooled already (composite.server.limits) and is handed on in chunks;
    # kept in a file of its own so that the endpoint reads it on its thread, not in memory.
    with tempfile.SpooledTemporaryFile(max_size=settings.max_body_bytes) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        yield spool


@router.post(
    "/import",
    response_model=ImportResultOut,
    responses={**error_responses(401, 413, 415, 422, 429), 503: INTERRUPTED},
    openapi_extra={"requestBody": IMPORT_BODY},
)
def import_prompts(
    request: Request,
    user: CurrentUser,
    db: DatabaseDep,
    body: Annotated[IO[bytes], Depends(spooled_body)],
) -> ImportResultOut:
    """Merge an export or a CSV file into the caller's prompts; each bad item is refused on its own."""
    return ImportResultOut.of(transfer.import_file(db, user, body, _kind(request)))
