"""The request being served: its id (from ``X-Request-ID`` or made here) and what logs say of it."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = b"x-request-id"
# Long enough for a UUID or a trace id, short and plain enough to be safe in any log line.
MAX_LENGTH = 128
_SAFE = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,%d}" % MAX_LENGTH)


@dataclass
class RequestInfo:
    """One request as the logs and metrics describe it; filled in while it is served."""

    app: str
    method: str
    path: str
    client: str
    request_id: str
    route: str | None = None  # the route template, set by the application that matched it
    status: int | None = None
    duration_ms: float | None = None


# Set per request by the Observe middleware. Every request runs in a task of its own, and the
# WSGI adapter runs Flask in a copy of that context, so both apps see the same object.
_current: ContextVar[RequestInfo | None] = ContextVar("composite_request", default=None)


def current_request() -> RequestInfo | None:
    """The request this code runs for, or None outside one."""
    return _current.get()


def set_current_request(info: RequestInfo) -> None:
    """Make ``info`` the current request for the rest of this task (and threads it starts)."""
    _current.set(info)


def request_id_from(value: bytes | None) -> str:
    """The client's request id when it is plain and bounded, otherwise a new one."""
    if value is not None and _SAFE.fullmatch(value):
        return value.decode("ascii")
    return uuid.uuid4().hex


def set_route(template: str) -> None:
    """Record the route template that matched the current request (never the raw path)."""
    info = _current.get()
    if info is not None:
        info.route = template
