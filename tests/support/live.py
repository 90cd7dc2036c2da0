"""Serve a PortRouter with the real uvicorn server on loopback, in a thread of the test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from composite.server import PortRouter, make_server


@contextmanager
def serving(router: PortRouter, timeout: float = 10.0) -> Iterator[list[int]]:
    """Run the router on 127.0.0.1 until the block ends; yield each mount's bound port."""
    sockets = router.bind("127.0.0.1")
    server = make_server(router, log_level="warning", shutdown_timeout=2)
    thread = threading.Thread(target=server.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        assert server.started, "the server did not start"
        yield [mount.port for mount in router.mounts]
    finally:
        server.should_exit = True
        thread.join(timeout)
        for sock in sockets:
            sock.close()


def raw_request(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send bytes exactly as given and read the whole answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def header_values(response: bytes, name: bytes) -> list[bytes]:
    """Every value of one header in a raw HTTP response."""
    head = response.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    return [line.split(b":", 1)[1].strip() for line in head if line.split(b":", 1)[0].lower() == name]
