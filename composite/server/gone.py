"""Whether the client of the request being served has closed its connection.

A request can wait a long time before its handler runs: for a thread, for the write lock,
or in the kernel's accept queue while the process is paused. Its client may have given up
by then, and one that retries would have its write done twice. The HTTP protocol knows
when a connection has closed (uvicorn's cycle marks itself ``disconnected``); it makes
each request's task carry that knowledge, so that code about to do a request's work,
on any thread the task hands it to, can ask ``client_gone()`` and skip it.

Asking is a read of one attribute: it never reads from the connection, so the body
stays the application's to read. It knows what the event loop has seen; a close the
loop has not yet read is seen on its next turn.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

Check = Callable[[], bool]

# Set in each request's task by the protocol; threads the task hands work to copy it
# (anyio's thread pool and the WSGI adapter run their calls in a copy of the context).
_check: ContextVar[Check | None] = ContextVar("composite_client_gone", default=None)

# The HTTP status recorded for work skipped this way: nginx's "client closed request".
CLIENT_CLOSED = 499


class ClientGone(Exception):
    """The request's client closed its connection before its work began; nothing was done."""

    def __init__(self) -> None:
        super().__init__("the client closed its connection before the request was served")


def client_gone() -> bool:
    """Whether the current request's client has closed its connection (False outside a request)."""
    check = _check.get()
    return check is not None and check()


def gone_check() -> Check | None:
    """The current request's check, to ask later from another thread (None outside a request)."""
    return _check.get()


def ensure_wanted() -> None:
    """Raise ClientGone if the current request's client has closed its connection."""
    if client_gone():
        raise ClientGone


def watching(check: Check) -> None:
    """Make ``check`` the answer to client_gone() in the current context (the request's task)."""
    _check.set(check)
