"""Early answers: a response the server writes as soon as a request's headers are parsed.

A whole answer that is already known (a kept response, see ``responsecache``) costs far
less to write than to route through an ASGI request cycle: no task, no scope copies, no
message dicts through every middleware. An application may therefore offer a
synchronous ``early(scope) -> EarlyAnswer | None`` next to its ASGI ``__call__``. The
protocol asks the mount's application before it starts a task; ``None`` sends the
request down the normal path.

The chain is opt-in at every layer: a middleware offers ``early`` only when it does for an
early answer what it does for every other one (the request id and metrics of ``Observe``,
the Host check and the access log of the router). A layer that knows nothing of early
answers hides the ones inside it, so an unknown middleware can never be skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from composite.server.asgi import Header, Scope


@dataclass(slots=True)
class EarlyAnswer:
    """A complete response: status, header lines (each ending CRLF), body and what metrics name it."""

    status: int
    headers: bytes
    body: bytes
    route: str | None = None  # the route template that made it, for metrics


Early = Callable[[Scope], EarlyAnswer | None]


def header_lines(headers: Iterable[Header]) -> bytes:
    """Headers as they go on the wire: ``name: value`` and CRLF each."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


def early_of(app: object) -> Early | None:
    """The application's ``early`` method when it offers one."""
    early = getattr(app, "early", None)
    return early if callable(early) else None
