"""Caching headers for a path prefix, as nginx's ``expires`` gives them to static files."""

from __future__ import annotations

import time
from email.utils import formatdate

from composite.server.asgi import ASGIApp, Message, Receive, Scope, Send


class CacheFor:
    """Mark successful answers under ``prefix`` cacheable by anyone for ``seconds``.

    The same headers nginx's ``expires 30d; add_header Cache-Control "public";`` gives, for
    a port that no nginx stands in front of; like nginx's ``expires``, they replace the
    application's own Cache-Control and Expires.
    """

    def __init__(self, app: ASGIApp, prefix: str, seconds: int) -> None:
        self.app = app
        self.prefix = prefix
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return

        async def send_cacheable(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 400:
                replaced = (b"cache-control", b"expires")
                headers = [(n, v) for n, v in message.get("headers", []) if n.lower() not in replaced]
                expires = formatdate(time.time() + self.seconds, usegmt=True)
                headers += [
                    (b"cache-control", f"public, max-age={self.seconds}".encode()),
                    (b"expires", expires.encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_cacheable)
