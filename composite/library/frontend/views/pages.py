"""The frontend's own health check."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pages", __name__)


@bp.get("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Answer 200 while the website can serve requests."""
    return {"status": "ok", "app": "frontend"}, 200
