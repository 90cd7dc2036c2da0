"""The frontend's own health check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int, dict[str, str]]:
    """Answer 200 while the website can serve requests."""
    # Never kept: a kept answer would say 200 even with every website thread stuck.
    return {"status": "ok", "app": "frontend"}, 200, {"Cache-Control": "no-store"}
