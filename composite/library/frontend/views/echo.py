"""Test-only view (TEST_ENDPOINTS=true): what the website saw of the request."""

from __future__ import annotations

import time

from flask import Blueprint, request

bp = Blueprint("echo", __name__)


@bp.get("/_echo")
def echo_request() -> dict[str, str]:
    """Return the client address, scheme and host as Flask sees them."""
    return {
        "app": "frontend",
        "client": request.remote_addr or "",
        "scheme": request.scheme,
        "host": request.host,
    }


@bp.get("/_sleep")
def sleep_then_answer() -> dict[str, float]:
    """Hold the request open for a while (for graceful-shutdown tests)."""
    seconds = min(float(request.args.get("seconds", "1")), 30.0)
    time.sleep(seconds)
    return {"slept": seconds}
