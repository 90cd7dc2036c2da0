"""An ASGI app that answers with variables read from the environment when it is imported."""

from __future__ import annotations

import os

from composite.server.asgi import Receive, Scope, Send, plain_response

GREETING = os.environ.get("GREETING", "unset")


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer ``GREETING`` as read at import, and ``PATH`` as it is now."""
    if scope["type"] == "http":
        await plain_response(scope, send, 200, f"{GREETING} {os.environ['PATH']}")
