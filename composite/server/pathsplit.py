"""One port split by path prefix between applications, as an nginx ``location`` block does.

``PathSplit([("/api", api)], default=web)`` sends ``/api`` and ``/api/...`` to ``api``
and everything else (``/``, ``/apix``, ``/static/...``) to ``web``, with the path left
whole, exactly like nginx's ``location = /api`` plus ``location /api/`` with a
``proxy_pass`` that keeps the URI. The applications keep their own ports too; their
lifespans run once, from their own mounts, so the split never forwards lifespan events.
"""

from __future__ import annotations

from collections.abc import Sequence

from composite.server.router import ASGIApp, Receive, Scope, Send


class PathSplit:
    """ASGI application choosing among applications by the longest matching path prefix."""

    def __init__(self, routes: Sequence[tuple[str, ASGIApp]], default: ASGIApp) -> None:
        for prefix, _ in routes:
            if not prefix.startswith("/") or (prefix != "/" and prefix.endswith("/")):
                raise ValueError(f"path prefix {prefix!r} must start with '/' and not end with one")
        # Longest first, so /api/admin wins over /api.
        self.routes = sorted(((p, a) for p, a in routes if p != "/"), key=lambda r: len(r[0]), reverse=True)
        self.default = dict(routes).get("/", default)

    def pick(self, path: str) -> ASGIApp:
        """The application that serves ``path``."""
        for prefix, app in self.routes:
            if path == prefix or path.startswith(prefix + "/"):
                return app
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # the router treats an application that returns at once as one without lifespan
        await self.pick(scope.get("path", "/"))(scope, receive, send)
