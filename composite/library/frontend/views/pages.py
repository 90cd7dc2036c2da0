"""The frontend's own health check."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("pages", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str | int | None], int, dict[str, str]]:
    """Answer 200 while the website can serve requests; degraded when the disk is nearly full."""
    space = current_app.extensions["composite.db"].space
    status = "degraded" if space.low() else "ok"
    body = {"status": status, "app": "frontend", "disk_free_bytes": space.free_bytes()}
    # Never kept: a kept answer would say 200 even with every website thread stuck.
    return body, 200, {"Cache-Control": "no-store"}
