"""Request body limits, and bodies read in full on the event loop before the application runs.

Every body, sized or chunked, is read here up to the limit and handed on in one piece
with a Content-Length:

- a slow client then holds no application thread while it sends: a WSGI application
  (a2wsgi) would otherwise block one of its few threads on every read of a dribbled body,
  and the protocol's body deadline ends the wait on the event loop alone;
- a2wsgi does not set ``wsgi.input_terminated``, so a WSGI application reads an empty
  body when a client sends one chunked; here no application ever processes a request
  with its body silently dropped.

What this buffers is bounded per port: ``max_bytes`` per request, and
``BUFFERED_BODIES`` times that for every request of the port together; beyond it a
request is answered 503 with Retry-After rather than grow the process.
"""

from __future__ import annotations

import json

from composite.server.router import ASGIApp, Message, Receive, Scope, Send

# How many bodies of the maximum size one port may hold in memory at once.
BUFFERED_BODIES = 32


class BodyLimit:
    """Refuse bodies over max_bytes with 413; read every body in full before the application runs."""

    def __init__(self, app: ASGIApp, max_bytes: int, *, json_errors: bool = False) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_errors = json_errors
        self.max_buffered = BUFFERED_BODIES * max_bytes
        self.buffered = 0  # bytes held for requests on this port, read and written on the loop

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
        if length is not None and int(length) > self.max_bytes:  # h11 and httptools accept digits only
            await self._refuse(send, 413, self._too_large_text())
            return
        if not chunked and (length is None or int(length) == 0):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client went, or the protocol's body deadline ended it
                chunk = message.get("body", b"")
                body += chunk
                self.buffered += len(chunk)
                if len(body) > self.max_bytes:
                    await self._refuse(send, 413, self._too_large_text())
                    return
                if self.buffered > self.max_buffered:
                    await self._refuse(send, 503, "Too many request bodies at once, try again shortly.")
                    return
                if not message.get("more_body", False):
                    break
            framing = (b"transfer-encoding", b"content-length")
            headers = [(n, v) for n, v in scope["headers"] if n not in framing]
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
        finally:
            self.buffered -= len(body)

    def _too_large_text(self) -> str:
        return f"Request body is larger than the limit of {self.max_bytes} bytes."

    async def _refuse(self, send: Send, status: int, text: str) -> None:
        if self.json_errors:
            payload, kind = json.dumps({"detail": text}).encode(), b"application/json"
        else:
            payload, kind = (text + "\n").encode(), b"text/plain; charset=utf-8"
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]
        if status == 503:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
