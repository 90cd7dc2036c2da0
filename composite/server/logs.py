"""One log format on stderr for the server, every application and the access log: text or JSON."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from composite.server.requestid import current_request

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# uvicorn reports the server's own events (start, stop, protocol errors) under this name.
_UVICORN_SERVER_LOGGER = "uvicorn.error"
SERVER_LOGGER = "composite.server"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request it was written for."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        info = current_request()
        if info is not None:
            entry.update(
                app=info.app,
                method=info.method,
                path=info.path,
                status=info.status,
                duration_ms=None if info.duration_ms is None else round(info.duration_ms, 2),
                client=info.client,
                request_id=info.request_id,
            )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """The plain format, with the request id when a line belongs to a request."""

    def format(self, record: logging.LogRecord) -> str:
        info = current_request()
        record.request = f" request_id={info.request_id}" if info is not None else ""
        return super().format(record)


def _rename_server_logger(record: logging.LogRecord) -> bool:
    # "uvicorn.error" carries no errors most of the time; say whose lines they are.
    if record.name == _UVICORN_SERVER_LOGGER:
        record.name = SERVER_LOGGER
    return True


def _not_written_already(record: logging.LogRecord) -> bool:
    # An application that gave its loggers handlers of its own (Django's dictConfig does)
    # has written the record already; writing it again at the root doubled every line.
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None and logger.parent is not None:
        if logger.handlers:
            return False
        logger = logger.parent if logger.propagate else None
    return True


def configure_logging(level: str, fmt: str = "text") -> None:
    """Send every logger to stderr in one format at ``level`` (uvicorn's ``trace`` is debug here).

    Loggers that have handlers of their own keep them and are not written a second time.
    """
    numeric = logging.DEBUG if level == "trace" else getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(request)s"))
    handler.addFilter(_not_written_already)
    handler.addFilter(_rename_server_logger)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # The router reports why start-up failed; uvicorn's generic line would only repeat it.
    logging.getLogger(_UVICORN_SERVER_LOGGER).addFilter(
        lambda record: record.getMessage() != "Application startup failed. Exiting."
    )
