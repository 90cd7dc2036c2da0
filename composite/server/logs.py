"""One log format on stderr for the server, every application and the access log."""

from __future__ import annotations

import logging
import sys

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def configure_logging(level: str) -> None:
    """Send every logger to stderr in one format at ``level`` (uvicorn's ``trace`` is debug here)."""
    numeric = logging.DEBUG if level == "trace" else getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # The router reports why start-up failed; uvicorn's generic line would only repeat it.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: record.getMessage() != "Application startup failed. Exiting."
    )
