"""How the API answers errors: domain errors as JSON, and their documentation in OpenAPI."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from composite.db import DatabaseError, DiskFullError
from composite.library.backend.schemas import ErrorOut, ValidationErrorOut
from composite.library.errors import DomainError, Invalid, TooManyAttempts
from composite.server.gone import CLIENT_CLOSED, ClientGone

log = logging.getLogger("composite.library.backend")

# Fields the domain validates that arrive in the query string rather than the body.
QUERY_FIELDS = frozenset({"q", "tag", "author", "sort", "limit", "offset"})

DESCRIPTIONS = {
    400: "The body could not be read (for example, it is not UTF-8)",
    401: "No token, or a token that is wrong or revoked",
    403: "The prompt belongs to someone else",
    404: "Not found (someone else's private prompt is not found either)",
    409: "The request clashes with what exists (a taken name, or a limit of things held reached)",
    413: "The body is larger than the limit: 64 MiB for an import, 1 MiB for any other request",
    415: "The body's Content-Type is not one this endpoint reads",
    422: "Invalid input",
    429: "Too many attempts from this address or at this account; retry after Retry-After seconds",
    503: "Too busy checking passwords right now; retry after Retry-After seconds",
    507: "Not enough disk space on the server to store this; nothing was written",
}
HEADERS = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
HEADERS[503] = HEADERS[429]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries for the error statuses an endpoint can answer with."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": ValidationErrorOut if status == 422 else ErrorOut,
            "description": DESCRIPTIONS[status],
        }
        if status in HEADERS:
            entry["headers"] = HEADERS[status]
        documented[status] = entry
    return documented


def _validation_issues(errors: Any) -> list[dict[str, Any]]:
    # Only loc, msg and type: echoing the input back could repeat a 50,000-character
    # body, or text (a lone surrogate) that cannot be encoded as UTF-8 at all.
    return [
        {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": error.get("type", "")}
        for error in errors
    ]


async def domain_error(request: Request, exc: Exception) -> JSONResponse:
    """Render a DomainError as {"detail": ...} with its status."""
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, Invalid):
        issues = [
            {
                "loc": ["query" if field in QUERY_FIELDS else "body", field],
                "msg": problem,
                "type": "value_error",
            }
            for field, problem in exc.errors.items()
        ]
        return JSONResponse({"detail": issues}, status_code=422)
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """Render invalid input as FastAPI does, without echoing the input."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _validation_issues(exc.errors())}, status_code=422)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this request's path."""
    allowed = []
    for method in ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"):
        scope = {**request.scope, "method": method}
        # Included routers nest their routes, so ask each top-level route whether it
        # would take the request with this method.
        if any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


async def http_error(request: Request, exc: Exception) -> Response:
    """Render HTTP errors as FastAPI does; a 405 lists the methods of every route on the path."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # Starlette names only the methods of the first route that matched the path,
        # but each method of a resource is a route of its own here.
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return await http_exception_handler(request, exc)


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    """Answer 503 when the database cannot be used (for example while the process stops)."""
    log.warning("database unavailable: %s", exc)
    return JSONResponse({"detail": "the database is unavailable; try again shortly"}, status_code=503)


async def client_gone(request: Request, exc: Exception) -> Response:
    """Nobody hears this answer: it records in the access log that the work was skipped."""
    return Response(status_code=CLIENT_CLOSED)


async def disk_full(request: Request, exc: Exception) -> JSONResponse:
    """Answer 507 when a write is refused or failed for lack of disk space (nothing was kept)."""
    log.warning("write refused: %s", exc)
    return JSONResponse({"detail": str(exc)}, status_code=507)


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug: answer 500 in the API's shape, never with a traceback (the server logs it)."""
    db = getattr(request.app.state, "db", None)
    if db is not None and db.invalidated(exc):  # a read met DuckDB's fatal error: we restart
        return JSONResponse({"detail": "the database failed; the server is restarting"}, status_code=503)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the API's exception handlers on the application."""
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(DatabaseError, database_error)
    app.add_exception_handler(DiskFullError, disk_full)
    app.add_exception_handler(ClientGone, client_gone)
    app.add_exception_handler(Exception, unexpected_error)
