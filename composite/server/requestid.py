"""The request being served: its id (from ``X-Request-ID`` or made here) and what logs say of it."""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar
from dataclasses import dataclass

HEADER = b"x-request-id"
# Long enough for a UUID or a trace id, short and plain enough to be safe in any log line.
MAX_LENGTH = 128
_SAFE = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,%d}" % MAX_LENGTH)


@dataclass(slots=True)
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


class _IdMaker:
    """32 hex digits, never repeated in a process: a random prefix and a scrambled counter.

    A uuid4 per request (16 bytes from the system, a UUID object) cost more than all the
    rest of what the server adds to a cached answer. Here the prefix (64 random bits, new
    in every process) keeps processes apart, and the counter is sent through a bijection
    of 64-bit numbers (an odd multiplier, a random mask) so that ids never repeat but do
    not show how many requests came before.
    """

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)  # a forked child is another process

    def reseed(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.mask = int.from_bytes(os.urandom(8))
        self.counter = itertools.count()

    def __call__(self) -> str:
        scrambled = (next(self.counter) * _MULTIPLIER & _MASK64) ^ self.mask
        return f"{self.prefix}{scrambled:016x}"


_MULTIPLIER = 0x9E3779B97F4A7C15  # odd, so multiplying modulo 2**64 is a bijection
_MASK64 = (1 << 64) - 1
new_request_id = _IdMaker()


def request_id_from(value: bytes | None) -> str:
    """The client's request id when it is plain and bounded, otherwise a new one."""
    if value is not None and _SAFE.fullmatch(value):
        return value.decode("ascii")
    return new_request_id()


def set_route(template: str) -> None:
    """Record the route template that matched the current request (never the raw path)."""
    info = _current.get()
    if info is not None:
        info.route = template
