"""A stop answers every request already sent: none queued in the listen backlog is reset unanswered."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from tests.support.process import ServerProcess

CONNECTIONS = 50
# Generous: a busy two-core machine may take seconds to answer fifty requests and stop.
READ_TIMEOUT = 30.0


def _send_requests(ports: list[int], paths: list[str]) -> list[socket.socket]:
    """Open one connection per request on alternating ports and send each request whole."""
    sockets = []
    for index in range(CONNECTIONS):
        port, path = ports[index % len(ports)], paths[index % len(paths)]
        sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
        # A keep-alive request: the answer must end the connection by itself at a stop.
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sockets.append(sock)
    return sockets


def _answers(sockets: list[socket.socket]) -> list[bytes | str]:
    """What each connection received before it closed, or the error that ended it."""
    outcomes: list[bytes | str] = []
    for sock in sockets:
        received = bytearray()
        try:
            with sock:
                while chunk := sock.recv(65536):
                    received += chunk
        except OSError as exc:  # a reset: ConnectionResetError
            outcomes.append(f"{type(exc).__name__} after {bytes(received)[:40]!r}")
            continue
        outcomes.append(bytes(received))
    return outcomes


def _unanswered(outcomes: list[bytes | str]) -> list[bytes | str]:
    """The outcomes that are not a whole 200 or 503 answer (one served before the stop may keep alive)."""
    return [
        outcome
        for outcome in outcomes
        if isinstance(outcome, str) or not outcome.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 503 "))
    ]


@pytest.mark.parametrize("stopped_first", [True, False], ids=["queued-while-stopped", "signal-at-once"])
def test_stop_answers_every_request_already_sent(tmp_path: Path, stopped_first: bool) -> None:
    server = ServerProcess(tmp_path).start()
    assert server.proc is not None
    ports = [server.backend_port, server.frontend_port]
    paths = ["/api/health", "/healthz"]
    try:
        if stopped_first:
            # Stopped, the process accepts nothing: every connection waits in the kernel's
            # listen backlog with its request, and the stop begins before any is read.
            server.signal(signal.SIGSTOP)
            sockets = _send_requests(ports, paths)
            server.signal(signal.SIGTERM)
            server.signal(signal.SIGCONT)
        else:
            sockets = _send_requests(ports, paths)
            server.signal(signal.SIGTERM)
        outcomes = _answers(sockets)
        status = server.wait(timeout=READ_TIMEOUT)
    finally:
        if server.proc.poll() is None:
            server.signal(signal.SIGCONT)  # a failure between STOP and CONT must not leave it stopped
        server.stop()
    assert _unanswered(outcomes) == [], server.log()
    assert status in (0, -signal.SIGTERM), server.log()
    assert "Traceback" not in server.log()
