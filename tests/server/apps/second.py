"""A second FastAPI app with lifespan state of its own, built by a factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request


def build() -> FastAPI:
    """Factory target: ``tests.server.apps.second:build()``."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"who": "second"}

    app = FastAPI(lifespan=lifespan)

    @app.get("/who")
    async def who(request: Request) -> dict[str, Any]:
        return {"who": request.state.who}

    return app


not_an_app = 42
