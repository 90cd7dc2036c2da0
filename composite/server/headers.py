"""Security headers added to every response of a mounted application, with the policy passed in."""

from __future__ import annotations

from collections.abc import Callable

from composite.server.router import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    """Add CSP, nosniff, referrer and framing headers unless the application set them."""

    def __init__(self, app: ASGIApp, policy: Callable[[str], str], *, hsts: bool = False) -> None:
        self.app = app
        self.policy = policy
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [
            (b"content-security-policy", self.policy(scope["path"]).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if self.hsts and scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
