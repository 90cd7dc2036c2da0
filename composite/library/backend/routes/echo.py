"""Test-only endpoint (TEST_ENDPOINTS=true): what the backend saw of the request."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from composite.library.backend.deps import DatabaseDep

router = APIRouter(tags=["testing"], include_in_schema=False)


@router.get("/_echo")
def echo_request(request: Request) -> dict[str, str]:
    """Return the client address, scheme and host as the backend sees them."""
    client = request.client
    return {
        "app": "backend",
        "client": client.host if client else "",
        "scheme": request.url.scheme,
        "host": request.headers.get("host", ""),
    }


@router.get("/_sleep")
def sleep_then_answer(seconds: float = 1.0) -> dict[str, float]:
    """Hold the request open for a while (for graceful-shutdown tests)."""
    time.sleep(min(seconds, 30.0))
    return {"slept": seconds}


@router.get("/_slow_query")
def run_slow_query(db: DatabaseDep, seconds: float = 1.0) -> dict[str, int]:
    """Keep the database busy with heavy queries for a while (for concurrency tests)."""
    deadline = time.monotonic() + min(seconds, 30.0)
    queries = 0
    while time.monotonic() < deadline:
        db.fetchone("SELECT sum(hash(range)) FROM range(20000000)")
        queries += 1
    return {"queries": queries}
