"""Backend application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from composite.config import Settings
from composite.db import Database
from composite.library.backend.errors import install_error_handlers
from composite.library.backend.routes import health, prompts, stars, tags, tokens, transfer, users, versions
from composite.library.backend.routes import password as password_routes


def create_backend(settings: Settings, db: Database) -> FastAPI:
    """Build the FastAPI application over an (opened later) shared database."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run in anyio's pool; its size is a per-loop setting.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.backend_threads
        yield

    app = FastAPI(
        title="ai.allucanget.biz prompt library API",
        version="1.0.0",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        swagger_ui_oauth2_redirect_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    install_error_handlers(app)
    for module in (health, users, tokens, prompts, versions, stars, tags, transfer, password_routes):
        app.include_router(module.router, prefix="/api")
    if settings.test_endpoints:
        from composite.library.backend.routes import echo

        app.include_router(echo.router, prefix="/api")
    return app
