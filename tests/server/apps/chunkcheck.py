"""A plain WSGI app that checks chunked uploads as httpbin does, and writes to ``wsgi.errors``.

httpbin itself cannot be installed beside this suite's browser tests (it pins greenlet
below 3, Playwright needs 3), so this is its rule, copied: a request whose environ still
says ``Transfer-Encoding: chunked`` is refused with 501 unless the server is gunicorn,
naming ``SERVER_SOFTWARE`` (empty under a server that sets none).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``POST /post`` answers the body's length; ``/errors`` writes two lines to ``wsgi.errors``."""
    server = environ.get("SERVER_SOFTWARE", "")
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" and not server.startswith("gunicorn/"):
        start_response("501 Not Implemented", [("Content-Type", "text/plain")])
        return [f"Chunked requests are not supported for server {server}".encode()]
    if environ["PATH_INFO"] == "/errors":
        environ["wsgi.errors"].write("first line from the application\nsecond line")
        environ["wsgi.errors"].flush()
    body = environ["wsgi.input"].read() if environ.get("wsgi.input_terminated") else b""
    answer = {"length": len(body), "server": server, "input_terminated": environ.get("wsgi.input_terminated")}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]
