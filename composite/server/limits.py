"""Request body limits shared by both ports, and full reading of chunked bodies.

a2wsgi does not set ``wsgi.input_terminated``, so a WSGI application reads an empty
body when a client sends one chunked (without Content-Length). This middleware reads a
chunked body in full, up to the limit, and hands it on with a Content-Length, so no
application ever processes a request with its body silently dropped.
"""

from __future__ import annotations

import json

from composite.server.router import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Refuse bodies over max_bytes with 413; turn chunked bodies into sized ones."""

    def __init__(self, app: ASGIApp, max_bytes: int, *, json_errors: bool = False) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_errors = json_errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if length is not None:
            if int(length) > self.max_bytes:  # h11 and httptools accept digits only
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
            return
        if not chunked:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        headers = [(n, v) for n, v in scope["headers"] if n != b"transfer-encoding"]
        headers.append((b"content-length", str(len(body)).encode()))
        sized_scope = {**scope, "headers": headers}
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(sized_scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        text = f"Request body is larger than the limit of {self.max_bytes} bytes."
        if self.json_errors:
            payload, kind = json.dumps({"detail": text}).encode(), b"application/json"
        else:
            payload, kind = (text + "\n").encode(), b"text/plain; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", kind),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
