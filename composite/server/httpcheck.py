"""HTTP rules every mounted application gets, whatever its framework.

- A request must carry exactly one ``Host`` header (HTTP/1.1 requires one; two are
  ambiguous for any request): otherwise 400, before the application runs.
- ``HEAD`` is answered by running the application's ``GET`` and dropping the body, so
  it works wherever ``GET`` does (FastAPI, for one, answers ``HEAD`` with 405).
- The server adds a ``Date`` header to every response; an application's own ``Date``
  (Werkzeug's ``send_file`` adds one) would make two, so it is dropped.
"""

from __future__ import annotations

from composite.server.asgi import ASGIApp, Message, Receive, Scope, Send, plain_response


def has_one_host(scope: Scope) -> bool:
    """Whether the request's Host headers are as HTTP requires: one (or none before HTTP/1.1)."""
    hosts = 0
    for name, _ in scope["headers"]:  # a plain loop: this runs for every request
        if name == b"host":
            hosts += 1
    return hosts == 1 or (hosts == 0 and scope.get("http_version") != "1.1")


class HTTPChecks:
    """ASGI middleware: one Host per request, HEAD as GET without a body, one Date header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not has_one_host(scope):
            text = "Bad Request: a request needs exactly one Host header\n"
            await plain_response(scope, send, 400, text, (b"connection", b"close"))
            return
        head = scope["method"] == "HEAD"
        if head:
            # The server still knows the request was HEAD and sends no body bytes itself;
            # dropping them here saves copying a body nobody will see.
            scope = {**scope, "method": "GET"}

        async def send_checked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                for name, _ in headers:
                    if name.lower() == b"date":
                        message = {**message, "headers": [h for h in headers if h[0].lower() != b"date"]}
                        break
            elif head and message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, send_checked)
