"""The HTTP protocol's deadlines and per-port connection cap, on a real uvicorn server in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from composite.server import Mount, PortRouter, bind_sockets, make_server
from tests.server.test_router import call
from tests.support.client import status_of


async def answer_without_reading(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """404 at once, whatever body the request carries (as a router does for an unknown path)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"no"})


async def read_then_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, then say how long it was."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Ports(list[int]):
    """The ports a test server listens on, and the router behind them."""

    router: PortRouter


@contextlib.contextmanager
def serving(apps: list[Any], **options: Any) -> Iterator[Ports]:
    """Serve each app on its own free loopback port in a background thread; yield the ports."""
    probe = [socket.socket() for _ in apps]
    for sock in probe:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in probe]
    for sock in probe:
        sock.close()
    mounts = [Mount(f"app{i}", port, app) for i, (port, app) in enumerate(zip(ports, apps, strict=True))]
    router = PortRouter(mounts)
    sockets = bind_sockets("127.0.0.1", mounts)
    server = make_server(router, log_level="warning", shutdown_timeout=1, **options)
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    served = Ports(ports)
    served.router = router
    try:
        yield served
    finally:
        server.should_exit = True
        thread.join(10)
        for sock in sockets:
            sock.close()


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, read from a socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(ln.split(b":", 1)[1]) for ln in lines if ln.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_an_early_answer_does_not_count_the_rest_of_the_body_as_headers() -> None:
    body = b"x" * 600_000
    with serving([answer_without_reading]) as (port,), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body))
        sock.sendall(body[:1000])
        assert status_of(read_response(sock)) == 404
        # The client is still uploading: every byte is the body it declared, not headers.
        for start in range(1000, len(body), 50_000):
            sock.sendall(body[start : start + 50_000])
            time.sleep(0.01)
        sock.sendall(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
        second = read_response(sock)
        assert status_of(second) == 404, second[:200]  # the next request, not an unrequested 431


def test_a_dribbled_body_is_cut_off_with_408_and_a_steady_one_is_not() -> None:
    with serving([read_then_answer], body_timeout=1.0, body_min_rate=1000) as (port,):
        with socket.create_connection(("127.0.0.1", port)) as slow:
            slow.settimeout(10)
            slow.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n")
            started = time.monotonic()
            answer = b""
            for _ in range(10):
                try:
                    slow.sendall(b"x")
                    answer = slow.recv(1024)
                except (ConnectionResetError, BrokenPipeError):
                    break
                if answer:
                    break
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert time.monotonic() - started < 5
        # 30 KB at about 6 KB/s takes 5 s: longer than the grace period, well above the rate.
        with socket.create_connection(("127.0.0.1", port)) as steady:
            steady.settimeout(10)
            steady.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 30000\r\n\r\n")
            for _ in range(50):
                steady.sendall(b"x" * 600)
                time.sleep(0.1)
            assert read_response(steady).endswith(b"\r\n\r\n30000")


def test_a_client_that_never_reads_is_dropped_and_frees_the_writer() -> None:
    finished = threading.Event()

    async def large(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for _ in range(400):  # 25 MiB: far beyond every socket buffer
                await send({"type": "http.response.body", "body": b"x" * 65536, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            finished.set()

    with serving([large], send_timeout=1.0) as (port,):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        with sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            # Never read: the server must give up on this client by itself.
            assert finished.wait(10), "the response writer still waits for a client that never reads"


def test_each_port_has_its_own_connection_cap() -> None:
    with serving([read_then_answer, read_then_answer], max_connections=3) as ports:
        crowded, other = ports
        idle = [socket.create_connection(("127.0.0.1", crowded)) for _ in range(3)]
        try:
            time.sleep(0.2)
            assert httpx.get(f"http://127.0.0.1:{crowded}/", timeout=5).status_code == 503
            assert httpx.get(f"http://127.0.0.1:{other}/", timeout=5).status_code == 200
            # Counted for the metrics, on the port that refused it only.
            assert dict(ports.router.refused_connections) == {crowded: 1}
        finally:
            for sock in idle:
                sock.close()
        time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{crowded}/", timeout=5).status_code == 200


def test_requests_in_flight_are_capped_per_port_websockets_included() -> None:
    release = asyncio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await release.wait()  # an open websocket holds its place for as long as it lives
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    router = PortRouter([Mount("a", 1111, app), Mount("b", 2222, app)], max_in_flight=1)

    async def scenario() -> tuple[int, int]:
        held = asyncio.create_task(router({"type": "websocket", "server": ("127.0.0.1", 1111)}, None, None))
        await asyncio.sleep(0)
        crowded, _ = await call(router, 1111)
        other, _ = await call(router, 2222)
        release.set()
        await held
        return crowded, other

    assert asyncio.run(scenario()) == (503, 200)
    assert sum(router.in_flight.values()) == 0


def test_a_finished_response_read_very_slowly_is_cut_off_within_its_bound() -> None:
    async def page(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"20000")]})
        await send({"type": "http.response.body", "body": b"x" * 20000})

    options = {"send_timeout": 1.0, "body_min_rate": 20000, "timeout_keep_alive": 1}
    with serving([page], **options) as (port,):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64)
        sock.connect(("127.0.0.1", port))
        with sock:
            # Three 20 KB responses fit the socket buffers at once: the server has nothing
            # left to write, and a plain close would let the kernel trickle them for minutes.
            sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 3)
            sock.settimeout(5)
            started, received = time.monotonic(), 0
            while time.monotonic() - started < 30:
                try:
                    chunk = sock.recv(64)  # 320 bytes a second
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                received += len(chunk)
                time.sleep(0.2)
            ended_after = time.monotonic() - started
        assert ended_after < 20, f"still reading after {ended_after:.0f}s"
        assert received < 60_000  # cut off, not delivered at 320 bytes a second


def read_head(sock: socket.socket) -> bytes:
    """Bytes from the socket up to at least the end of a response head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the head"
        data += chunk
    return data


def test_a_response_head_goes_out_before_a_body_that_is_slow_to_come() -> None:
    release = threading.Event()

    async def head_then_wait(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"4")]})
        await asyncio.to_thread(release.wait, 30)  # the body comes only once the client has the head
        await send({"type": "http.response.body", "body": b"done"})

    with serving([head_then_wait]) as (port,), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        head = read_head(sock)
        assert status_of(head) == 200
        assert not head.partition(b"\r\n\r\n")[2]  # the body was not sent yet
        release.set()
        rest = head.partition(b"\r\n\r\n")[2]
        while len(rest) < 4:
            rest += sock.recv(65536)
        assert rest == b"done"
        # HEAD writes no body to carry the head: it still arrives, on a connection kept open.
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
        release.set()
        answer = read_head(sock)
        assert status_of(answer) == 200
