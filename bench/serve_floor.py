"""Floors: the least each framework costs on the composite's own server, with nothing of the site.

``python -m bench.serve_floor KIND PORT`` serves one of:

- ``asgi``: a raw ASGI app on ``make_server`` (the most this machine's uvicorn can serve);
- ``flask``: a Flask hello returning a short HTML page, through ``wsgi_app`` with the
  website's thread count, in a ``PortRouter`` run by ``serve`` exactly as the site's ports are;
- ``fastapi``: a FastAPI hello, a sync endpoint returning small JSON, with the API's
  thread limit, in the same router and server.

The website's workloads are reported as a share of the Flask floor, the API's of the
FastAPI floor: what the site adds over a framework's hello on the same server.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

from composite.config import Settings
from composite.server import Mount, PortRouter, make_server, wsgi_app
from composite.server.run import serve

BODY = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]
HELLO_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hello</title></head>'
    "<body><h1>Hello</h1><p>The floor of the website: Flask and nothing else.</p></body></html>"
)
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a local benchmark's key


async def asgi_hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every request with a fixed JSON body; accept the lifespan."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def flask_hello() -> Any:
    """A Flask app with one view returning a short HTML page."""
    from flask import Flask

    app = Flask("floor")

    @app.get("/")
    def hello() -> str:
        """The hello page."""
        return HELLO_PAGE

    return app


def fastapi_hello(settings: Settings) -> Any:
    """A FastAPI app with one sync endpoint returning small JSON, under the API's thread limit."""
    import anyio.to_thread
    from fastapi import FastAPI

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The same limit the site's API sets on its sync endpoints' thread pool.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.backend_threads
        yield

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/")
    def hello() -> dict[str, str]:
        """The hello answer."""
        return {"status": "ok"}

    return app


def serve_framework(kind: str, port: int) -> int:
    """Serve a framework's hello as the site serves its apps: one router, the site's options."""
    from composite.library.site import serve_options

    settings = Settings(host="127.0.0.1", secret_key=SECRET, log_level="warning", load_examples=False)
    if kind == "flask":
        app = wsgi_app(flask_hello(), settings.frontend_threads, settings.max_body_bytes)
    else:
        app = fastapi_hello(settings)
    router = PortRouter([Mount(kind, port, app)], max_in_flight=settings.limit_concurrency)
    return serve(router, serve_options(settings))


def main(argv: list[str]) -> int:
    """Serve one floor on 127.0.0.1:PORT until stopped."""
    kind, port = argv[0], int(argv[1])
    if kind in ("flask", "fastapi"):
        return serve_framework(kind, port)
    if kind != "asgi":
        raise SystemExit(f"unknown floor {kind!r}: asgi, flask or fastapi")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    make_server(asgi_hello, log_level="warning", max_connections=1000).run(sockets=[sock])  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
