"""ASGI types and the one plain-text response the generic server answers with itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Header = tuple[bytes, bytes]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]

# The ``scope["extensions"]`` entry in which the server offers a way to end a request's
# connection at once (no ASGI message does it): ``{"end": callable}``, called with no
# arguments. Middleware that stops a body past its limit after the response has started
# uses it, so that the client sees an incomplete response rather than one that looks whole.
END_CONNECTION = "composite.end_connection"


async def plain_response(scope: Scope, send: Send, status: int, text: str, *extra: Header) -> None:
    """Answer an HTTP request from the server itself, without any application."""
    if scope["type"] != "http":
        return
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra]})
    await send({"type": "http.response.body", "body": body})
