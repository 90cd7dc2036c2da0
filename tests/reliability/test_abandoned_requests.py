"""Requests whose client gave up while the process was paused are not run when it resumes."""

from __future__ import annotations

import json
import signal
import socket
import time

import httpx
import pytest

from tests.support.client import register
from tests.support.process import ServerProcess

pytestmark = pytest.mark.slow

WRITERS = 20


def _post(port: int, path: str, token: str, body: dict[str, object], key: str | None = None) -> bytes:
    """A whole POST request with a JSON body, as bytes."""
    data = json.dumps(body).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: Bearer {token}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        *([f"Idempotency-Key: {key}"] if key else []),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def _send_and_give_up(port: int, request: bytes, wait: float) -> bytes:
    """Send a request, wait for an answer at most ``wait`` seconds, then close the connection."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        sock.settimeout(wait)
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


def _titles(server: ServerProcess, token: str) -> list[str]:
    """The titles of the caller's prompts (they are the only ones in the database)."""
    answer = httpx.get(
        f"{server.backend}/api/prompts",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [item["title"] for item in answer.json()["items"]]


def test_writes_given_up_during_a_pause_are_not_stored(server: ServerProcess) -> None:
    """SIGSTOP, writers send and time out, SIGCONT: none of their prompts is stored; later ones are."""
    token = register(server)
    server.signal(signal.SIGSTOP)
    try:
        for n in range(WRITERS):
            body = {"title": f"gave up {n}", "body": "b"}
            request = _post(server.backend_port, "/api/prompts", token, body)
            assert _send_and_give_up(server.backend_port, request, 0.05) == b""
    finally:
        server.signal(signal.SIGCONT)
    # A request sent after the resume is served, and queued behind whatever the resume runs.
    after = httpx.post(
        f"{server.backend}/api/prompts",
        json={"title": "after the pause", "body": "b"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert after.status_code == 201, after.text
    time.sleep(0.5)  # anything the resume would still run has run by now
    assert _titles(server, token) == ["after the pause"]
    assert "Traceback" not in server.log()
