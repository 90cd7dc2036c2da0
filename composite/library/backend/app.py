"""Backend application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from composite.config import Settings
from composite.db import Database
from composite.db.probe import Probe
from composite.library.backend.docs import docs_router
from composite.library.backend.errors import install_error_handlers
from composite.library.backend.routes import (
    forks,
    health,
    labels,
    prompts,
    stars,
    tags,
    tokens,
    transfer,
    users,
    versions,
)
from composite.library.backend.routes import password as password_routes
from composite.library.idempotency import IdempotencyKeys, KeyReused
from composite.library.ratelimit import RateLimiter


async def key_reused(request: Request, exc: Exception) -> JSONResponse:
    """Answer 422 naming the Idempotency-Key header, in the shape of FastAPI's validation errors."""
    assert isinstance(exc, KeyReused)
    issues = [
        {"loc": ["header", name], "msg": problem, "type": "value_error"}
        for name, problem in exc.errors.items()
    ]
    return JSONResponse({"detail": issues}, status_code=422)


def create_backend(settings: Settings, db: Database, limiter: RateLimiter | None = None) -> FastAPI:
    """Build the FastAPI application over an (opened later) shared database and rate limiter."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run in anyio's pool; its size is a per-loop setting.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.backend_threads
        yield

    app = FastAPI(
        title="ai.allucanget.biz prompt library API",
        version="1.0.0",
        docs_url=None,  # served by composite.library.backend.docs, without a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
        debug=settings.debug,  # development: a traceback in the 500 answer
    )
    app.state.settings = settings
    app.state.db = db
    # Health checks share one probe query at a time (composite/db/probe.py).
    app.state.probe = Probe(lambda: db.fetchone("SELECT 1"))
    app.state.limiter = limiter or RateLimiter()
    app.state.idempotency_keys = IdempotencyKeys(db)
    install_error_handlers(app)
    app.add_exception_handler(KeyReused, key_reused)
    for module in (
        health,
        users,
        tokens,
        prompts,
        forks,
        versions,
        labels,
        stars,
        tags,
        transfer,
        password_routes,
    ):
        app.include_router(module.router, prefix="/api")
    assert app.openapi_url is not None
    app.include_router(docs_router(app.title, app.openapi_url))
    if settings.test_endpoints:
        from composite.library.backend.routes import echo

        app.include_router(echo.router, prefix="/api")
    return app
