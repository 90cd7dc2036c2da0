"""Health of the process and of its database."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from composite.db import DatabaseError, QueryError
from composite.db.probe import ProbeTimeoutError

router = APIRouter(tags=["health"])


class HealthOut(BaseModel):
    """Whether the API and its database answer."""

    status: str  # ok, degraded (free disk space below DISK_DEGRADED_MB) or unavailable
    database: str
    app: str = "backend"
    last_backup_age_seconds: float | None = None  # None: no backup yet (see composite admin backup)
    disk_free_bytes: int | None = None  # on the database's file system; None when unreadable


@router.get(
    "/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database cannot answer"}},
)
async def read_health(request: Request) -> HealthOut | JSONResponse:
    """Report whether the API is up and the database answers a query started after the request."""
    space = request.app.state.db.space
    try:
        await request.app.state.probe.check()
    except (DatabaseError, QueryError, ProbeTimeoutError) as exc:
        request.app.state.db.invalidated(exc)  # DuckDB's fatal error ends the process
        body = HealthOut(status="unavailable", database=f"error: {exc}", disk_free_bytes=space.free_bytes())
        return JSONResponse(body.model_dump(), status_code=503)
    operations = getattr(request.app.state, "operations", None)
    age = operations.newest_backup_age() if operations is not None else None
    return HealthOut(
        # Degraded still answers 200: everything is served, but the disk needs the operator.
        status="degraded" if space.low() else "ok",
        database="ok",
        last_backup_age_seconds=None if age is None else round(age, 1),
        disk_free_bytes=space.free_bytes(),
    )
