"""One port split by path prefix between applications, as an nginx ``location`` block does.

``PathSplit([("/api", api)], default=web)`` sends ``/api`` and ``/api/...`` to ``api``
and everything else (``/``, ``/apix``, ``/static/...``) to ``web``, with the path left
whole, exactly like nginx's ``location = /api`` plus ``location /api/`` with a
``proxy_pass`` that keeps the URI. The applications keep their own ports too; their
lifespans run once, from their own mounts, so the split never forwards lifespan events.

The prefix is matched against the path as nginx sees it (``merge_slashes`` on, dot
segments resolved): ``/api/../x`` and ``/api/%2E%2E/x`` go to the ``/`` application and
``//api/x`` to the API's, while the application still gets the path as sent. A path whose
``..`` would climb above the root cannot be resolved and is answered 400, as by nginx.
"""

from __future__ import annotations

from collections.abc import Sequence

from composite.server.asgi import plain_response
from composite.server.router import ASGIApp, Receive, Scope, Send


def normalise(path: str) -> str | None:
    """The path with repeated slashes merged and ``.``/``..`` segments resolved; None above the root."""
    if "/." not in path and "//" not in path:
        return path  # nearly every request: nothing to resolve
    segments: list[str] = []
    parts = path.split("/")
    for index, part in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1
        if part == "..":
            if not segments:
                return None
            segments.pop()
        elif part not in ("", "."):
            segments.append(part)
            continue
        if last:
            segments.append("")  # "/a/." and "/a/b/.." name the directory: keep its slash
    return "/" + "/".join(segments)


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
        path = scope.get("path", "/")
        seen = normalise(path) if path.startswith("/") else path
        if seen is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})  # refused before the handshake: 403
            else:
                await plain_response(scope, send, 400, "Bad Request: the path climbs above the root.\n")
            return
        await self.pick(seen)(scope, receive, send)
