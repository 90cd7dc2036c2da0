"""The admin API: served only on the Unix socket (ADMIN_SOCKET), for ``composite admin ...``.

Whoever can connect to the socket is the operator: the file is mode 0600, owned by the user
that runs the server, so reaching it already takes that user's rights (or root's).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from composite.db import Database
from composite.db import schema as schema_versions
from composite.db.backup import BackupError
from composite.library.accounts import create_user
from composite.library.backend.errors import install_error_handlers
from composite.library.operations import Operations
from composite.library.useradmin import delete_user, list_users, reset_password, set_disabled
from composite.server.metrics import CONTENT_TYPE, Metrics


class BackupIn(BaseModel):
    """Where to write a backup (a new file) or a dump (a new directory): an absolute path on the server."""

    path: str


class UserIn(BaseModel):
    """A new account."""

    username: str
    password: str


class PasswordIn(BaseModel):
    """A new password."""

    password: str


def create_admin(db: Database, operations: Operations, metrics: Metrics) -> FastAPI:
    """Build the admin application over the site's database and its operations."""
    app = FastAPI(title="composite admin", docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)

    @app.exception_handler(BackupError)
    async def backup_failed(request: Request, exc: Exception) -> JSONResponse:
        what = request.url.path.strip("/")  # backup or dump
        return JSONResponse({"detail": f"{what} failed: {exc}"}, status_code=400)

    @app.get("/stats")
    def read_stats() -> dict[str, Any]:
        """Rows per table, file and WAL size, memory, uptime and the last backup's age."""
        return operations.stats()

    @app.post("/checkpoint")
    def checkpoint() -> dict[str, int]:
        """Write the WAL into the database file."""
        return operations.checkpoint()

    @app.post("/backup")
    def backup(body: BackupIn) -> dict[str, Any]:
        """Write a verified snapshot of the live database to a new file."""
        report = operations.backup(Path(body.path))
        return {**asdict(report), "path": str(report.path), "seconds": round(report.seconds, 3)}

    @app.post("/dump")
    def dump(body: BackupIn) -> dict[str, Any]:
        """Export every table as Parquet to a new directory, in one snapshot."""
        report = operations.dump(Path(body.path))
        return {**asdict(report), "path": str(report.path), "seconds": round(report.seconds, 3)}

    @app.get("/schema")
    def read_schema() -> dict[str, Any]:
        """The migrations the database records and the releases that opened it."""
        cursor = db.cursor()
        recorded = [m.name for m in schema_versions.recorded(cursor)]
        return {"database": str(db.path), "recorded": recorded, "releases": schema_versions.releases(cursor)}

    @app.get("/metrics")
    def read_metrics() -> Response:
        """The server's metrics in Prometheus's text format."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/users")
    def read_users() -> list[dict[str, Any]]:
        """Every account with its counts."""
        return [{**asdict(u), "created_at": u.created_at.isoformat()} for u in list_users(db)]

    @app.post("/users", status_code=201)
    def add_user(body: UserIn) -> dict[str, Any]:
        """Create an account."""
        user = create_user(db, body.username, body.password)
        return {"id": user.id, "username": user.username}

    @app.put("/users/{username}/password")
    def change_password(username: str, body: PasswordIn) -> dict[str, str]:
        """Set a user's password; every session and token of theirs ends."""
        reset_password(db, username, body.password)
        return {"username": username, "result": "password reset; sessions and tokens ended"}

    @app.post("/users/{username}/disable")
    def disable(username: str) -> dict[str, str]:
        """Refuse the user's logins and end every session and token of theirs."""
        set_disabled(db, username, True)
        return {"username": username, "result": "disabled"}

    @app.post("/users/{username}/enable")
    def enable(username: str) -> dict[str, str]:
        """Let a disabled user log in again."""
        set_disabled(db, username, False)
        return {"username": username, "result": "enabled"}

    @app.delete("/users/{username}")
    def remove(username: str) -> dict[str, Any]:
        """Delete the user with their prompts, tokens and sessions."""
        prompts = delete_user(db, username)
        return {"username": username, "result": "deleted", "prompts_deleted": prompts}

    return app
