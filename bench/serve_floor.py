"""Floor: a minimal ASGI app under the composite's own uvicorn settings.

It does nothing but answer, so its throughput is the most this machine's uvicorn can
serve. Usage: ``python -m bench.serve_floor PORT``.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

from composite.server import make_server

BODY = b'{"status":"ok"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every request with a fixed JSON body; accept the lifespan."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def main(argv: list[str]) -> None:
    """Serve the floor app on 127.0.0.1:PORT until stopped."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(argv[0])))
    sock.listen(2048)
    make_server(app, log_level="warning", max_connections=1000).run(sockets=[sock])  # type: ignore[arg-type]


if __name__ == "__main__":
    main(sys.argv[1:])
