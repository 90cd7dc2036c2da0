"""Export the caller's prompts as JSON; import an export or a CSV file, merging rather than duplicating."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from composite.config import Settings
from composite.library import export, transfer
from composite.library.backend.deps import (
    CurrentUser,
    DatabaseDep,
    KeyedWriteDep,
    kept_answer,
)
from composite.library.backend.errors import error_responses
from composite.library.backend.schemas import ErrorOut, ExportDocument, ImportDocument, ImportResultOut
from composite.library.errors import Invalid, UnsupportedMediaType
from composite.library.idempotency import answer_json, request_digest
from composite.library.import_files import IMPORT_MAX_BYTES, FileKind, media_kind, upload_kind
from composite.server.gone import ensure_wanted

router = APIRouter(tags=["transfer"])


EXPORTED = {
    "model": ExportDocument,
    "description": "The export document (JSON), or with `?format=csv` the latest versions as CSV",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


@router.get(
    "/export", response_class=StreamingResponse, responses={200: EXPORTED, **error_responses(401, 422)}
)
def export_prompts(
    user: CurrentUser,
    db: DatabaseDep,
    format: Annotated[
        Literal["json", "csv"],
        Query(description="json: everything, history included, to import back; csv: for spreadsheets"),
    ] = "json",
) -> StreamingResponse:
    """All of the caller's prompts, public and private, with their history, labels and dates."""
    name = export.file_name(user, format)
    return StreamingResponse(
        export.export_csv(db, user) if format == "csv" else export.export_json(db, user),
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


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
        f"A file of up to {IMPORT_MAX_BYTES // 2**20} MiB and {transfer.MAX_IMPORT:,} prompts:"
        " an export document (`application/json`), or CSV (`text/csv`, also sent as"
        " `application/vnd.ms-excel` or `text/tab-separated-values`) with a header row naming"
        " `title` and `body` columns (or `act` and `prompt`) and optionally `description`, `tags`"
        " (separated by commas) and `visibility`. CSV is UTF-8 or UTF-16 with a byte order mark,"
        " separated by commas, semicolons, tabs or bars (whichever the header holds). Either may"
        " also come as the file part of a form (`curl -F file=@prompts.csv`)."
    ),
    "content": {
        "application/json": {"schema": _inlined(ImportDocument.model_json_schema())},
        "text/csv": {"schema": {"type": "string"}, "example": CSV_EXAMPLE},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


@dataclass(frozen=True)
class Upload:
    """The file an import request carries, spooled, and the reader it needs."""

    stream: IO[bytes]
    kind: FileKind


async def uploaded_file(request: Request) -> AsyncIterator[Upload]:
    """The file in the request: its whole body, or the file part of a form; 415 for other bodies.

    Read on the event loop into a temporary file (no database call here), so that the
    endpoint parses it on its thread, not in memory.
    """
    media_type = request.headers.get("content-type", "")
    if media_type.split(";", 1)[0].strip().lower() == "multipart/form-data":
        # What `curl -F file=@prompts.csv` sends: Starlette's parser spools the part to disk.
        async with request.form(max_files=1, max_fields=8) as form:
            part = next((value for value in form.values() if isinstance(value, UploadFile)), None)
            if part is None:
                raise Invalid({"file": "the form has no file: send it as file=@prompts.json"})
            stream: IO[bytes] = part.file
            # Eight bytes read from the spool: the kind is told by name, type and start.
            yield Upload(stream, upload_kind(stream, part.filename or "", part.content_type or ""))
        return
    kind = media_kind(media_type)
    if kind is None:
        raise UnsupportedMediaType(
            "send the file as application/json (an export), as text/csv, or as a form's file part"
        )
    settings: Settings = request.app.state.settings
    # The body arrives spooled already (composite.server.limits) and is handed on in chunks.
    with tempfile.SpooledTemporaryFile(max_size=settings.max_body_bytes) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        yield Upload(spool, kind)


@router.post(
    "/import",
    response_model=ImportResultOut,
    responses={**error_responses(401, 409, 413, 415, 422, 429), 503: INTERRUPTED},
    openapi_extra={"requestBody": IMPORT_BODY},
)
def import_prompts(
    user: CurrentUser,
    db: DatabaseDep,
    keyed: KeyedWriteDep,
    upload: Annotated[Upload, Depends(uploaded_file)],
    response: Response,
    visibility: Annotated[
        Literal["public", "private"] | None,
        Query(description="What a new prompt gets when its item gives no visibility (default private)"),
    ] = None,
) -> Response:
    """Merge an export or a CSV file into the caller's prompts; each bad item is refused on its own."""
    ensure_wanted()  # an import's writes are no group commit's, which would check when it took them
    digest = _file_digest(upload, visibility) if keyed.key else b""
    with keyed.once(digest) as once:
        if once.replay is not None:
            return kept_answer(once.replay, response)
        result = transfer.import_file(db, user, upload.stream, upload.kind, visibility)
        # Kept after the import's own transactions: a retry after a crash between them merges again.
        once.store(answer_json(200, ImportResultOut.of(result)))
    assert once.answer is not None
    return kept_answer(once.answer, response)


def _file_digest(upload: Upload, visibility: str | None) -> bytes:
    """What identifies an import for its key: the file's bytes (not a form's boundary), kind and query."""
    position = upload.stream.tell()
    upload.stream.seek(0)
    content = hashlib.sha256()
    while chunk := upload.stream.read(1024 * 1024):
        content.update(chunk)
    upload.stream.seek(position)
    return request_digest("import", upload.kind, visibility or "", content.digest())
