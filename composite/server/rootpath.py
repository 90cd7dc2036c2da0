"""A mount's ``root-path``: the prefix a proxy removed, given back to the application as uvicorn does.

Behind a proxy that strips ``/app`` from ``/app/items/1``, the application is asked for
``/items/1`` but must build links under ``/app``. As uvicorn's ``--root-path`` (0.26 and
later, following the ASGI spec), the scope then has ``root_path`` ``/app`` and a ``path``
that begins with it: Starlette routes on what follows and ``url_for`` includes it; a WSGI
application gets it as ``SCRIPT_NAME``, with ``PATH_INFO`` the rest.
"""

from __future__ import annotations

from composite.server.asgi import ASGIApp, Receive, Scope, Send


class RootPath:
    """Serves ``app`` as mounted under ``root_path`` (``/app``: a slash first, none last)."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path
        self._raw = root_path.encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope["root_path"] = scope.get("root_path", "") + self.root_path
            scope["path"] = self.root_path + scope["path"]
            raw = scope.get("raw_path")
            if raw is not None:
                scope["raw_path"] = self._raw + raw
        await self.app(scope, receive, send)
