"""The server's WSGI adapter, on the real server: PEP 3333 as validated, bodies, failures, clients going."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest
from flask import Flask, Response, request, stream_with_context

from composite.server import Mount, PortRouter, wsgi_app
from tests.support.live import serving

CHUNKS = 200
CHUNK_PAUSE = 0.05  # a stream of CHUNKS takes 10 s: far longer than a stopped one may run


class Stream:
    """Counts what a streaming response produced and when its generator was closed."""

    def __init__(self, pause: float = CHUNK_PAUSE) -> None:
        self.pause = pause
        self.produced = 0
        self.closed = threading.Semaphore(0)

    def generate(self) -> Iterator[str]:
        try:
            for i in range(CHUNKS):
                self.produced += 1
                yield f"{i}\n"
                time.sleep(self.pause)
        finally:
            self.closed.release()


def make_flask(stream: Stream | None = None) -> Flask:
    """A small third-party-style Flask app."""
    app = Flask(__name__)
    stream = stream or Stream(pause=0)

    @app.get("/")
    def index() -> str:
        return "hello"

    @app.post("/echo")
    def echo() -> dict[str, Any]:
        data = request.get_data()
        return {"length": len(data), "head": data[:10].decode()}

    @app.get("/stream")
    def streamed() -> Response:
        return Response(stream_with_context(stream.generate()), mimetype="text/plain")

    @app.get("/environ")
    def environ() -> dict[str, Any]:
        request.environ["wsgi.errors"].write("written to wsgi.errors\n")
        return {k: request.environ.get(k) for k in ("wsgi.multiprocess", "wsgi.input_terminated")}

    return app


def url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def chunked(total: int, size: int = 1000) -> Iterator[bytes]:
    """A body httpx sends with Transfer-Encoding: chunked."""
    for _ in range(total // size):
        yield b"x" * size


def sized_reads(app: Flask) -> Any:
    """Let Werkzeug's read() of a terminated input through wsgiref's validator, as read(-1).

    The validator checks the server's side (environ, start_response, closing) and also how
    the application reads its input, where it refuses read() without a size.
    """

    class Input:
        def __init__(self, stream: Any) -> None:
            self.stream = stream

        def read(self, size: int = -1) -> bytes:
            return self.stream.read(size)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.stream, name)

    def wrapped(environ: dict[str, Any], start_response) -> Any:
        environ["wsgi.input"] = Input(environ["wsgi.input"])
        return app(environ, start_response)

    return wrapped


def test_flask_app_passes_the_wsgi_validator_through_the_adapter() -> None:
    router = PortRouter([Mount("web", 0, wsgi_app(validator(sized_reads(make_flask())), 2))])
    with serving(router) as (port,):
        assert httpx.get(url(port, "/")).text == "hello"
        assert httpx.post(url(port, "/echo"), content=b"abc").json() == {"length": 3, "head": "abc"}
        assert httpx.post(url(port, "/echo"), content=chunked(5000)).json()["length"] == 5000
        assert httpx.get(url(port, "/stream")).text.count("\n") == CHUNKS
        assert httpx.head(url(port, "/")).status_code == 200
        assert httpx.get(url(port, "/environ")).status_code == 200


def test_environ_is_single_process_and_errors_go_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    router = PortRouter([Mount("web", 0, wsgi_app(make_flask(), 2))])
    with serving(router) as (port,):
        got = httpx.get(url(port, "/environ")).json()
    assert got == {"wsgi.multiprocess": False, "wsgi.input_terminated": True}
    assert [r.getMessage() for r in caplog.records if r.name == "composite.server.wsgi"] == [
        "written to wsgi.errors"
    ]


def test_chunked_body_reaches_a_flask_app_in_full() -> None:
    router = PortRouter([Mount("web", 0, wsgi_app(make_flask(), 2))])
    with serving(router) as (port,):
        response = httpx.post(url(port, "/echo"), content=chunked(200_000))
    assert response.json() == {"length": 200_000, "head": "x" * 10}


def test_chunked_body_streams_to_the_app_as_it_arrives() -> None:
    first_line = threading.Event()

    def app(environ: dict[str, Any], start_response) -> list[bytes]:
        line = environ["wsgi.input"].readline()
        first_line.set()
        rest = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d %d" % (len(line), len(rest))]

    router = PortRouter([Mount("web", 0, wsgi_app(app, 2, max_body_bytes=1000))])
    with serving(router) as (port,), socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello\n\r\n")
        assert first_line.wait(5), "the app saw nothing before the body ended"
        sock.sendall(b"3\r\nabc\r\n0\r\n\r\n")
        response = b""
        while not response.endswith(b"0\r\n\r\n"):
            response += sock.recv(65536)
    assert b"\r\n6 3\r\n" in response


def test_chunked_body_past_the_mount_limit_gets_413() -> None:
    router = PortRouter([Mount("web", 0, wsgi_app(make_flask(), 2, max_body_bytes=50_000))])
    with serving(router) as (port,):
        too_large = httpx.post(url(port, "/echo"), content=chunked(100_000))
        sized = httpx.post(url(port, "/echo"), content=b"x" * 60_000)
        within = httpx.post(url(port, "/echo"), content=chunked(50_000))
    assert too_large.status_code == 413
    assert "larger than the limit of 50000 bytes" in too_large.text
    assert sized.status_code == 413
    assert within.json()["length"] == 50_000


def test_app_failing_before_its_first_byte_gets_500(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, Any], start_response) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("broke while rendering")
        yield b"never"

    router = PortRouter([Mount("web", 0, wsgi_app(app, 2))])
    with serving(router) as (port,):
        response = httpx.get(url(port, "/"))
    assert response.status_code == 500
    assert "RuntimeError: broke while rendering" in caplog.text


def abandon(port: int) -> None:
    """Start reading the stream, then go away."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        while b"0\n" not in received:
            received += sock.recv(65536)


def test_stream_stops_and_closes_when_the_client_goes() -> None:
    stream = Stream()
    router = PortRouter([Mount("web", 0, wsgi_app(make_flask(stream), 2))])
    with serving(router) as (port,):
        abandon(port)
        assert stream.closed.acquire(timeout=5), "the generator was not closed"
    assert stream.produced < 10


def test_abandoned_streams_give_their_threads_back() -> None:
    stream = Stream()
    router = PortRouter([Mount("web", 0, wsgi_app(make_flask(stream), 2))])
    with serving(router) as (port,):
        for _ in range(4):  # twice the pool
            abandon(port)
        assert httpx.get(url(port, "/"), timeout=5).text == "hello"
        for _ in range(4):
            assert stream.closed.acquire(timeout=5)
