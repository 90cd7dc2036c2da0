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


def _retry(server: ServerProcess, token: str, body: dict[str, object], key: str) -> httpx.Response:
    """Send a keyed create until it is answered (409 while the first attempt is still served)."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    for _ in range(100):
        answer = httpx.post(f"{server.backend}/api/prompts", json=body, headers=headers, timeout=10)
        if answer.status_code != 409:
            return answer
        time.sleep(0.05)
    raise AssertionError("the first attempt never finished")


def test_a_retry_with_its_key_after_a_timeout_makes_one_prompt(server: ServerProcess) -> None:
    """Clients give up at once, whether or not the server got to their write, then retry with the key."""
    token = register(server)
    bodies = {f"key-{n}": {"title": f"retried {n}", "body": "b"} for n in range(WRITERS)}
    for key, body in bodies.items():
        request = _post(server.backend_port, "/api/prompts", token, body, key)
        _send_and_give_up(server.backend_port, request, 0.001)
    answers = {key: _retry(server, token, body, key) for key, body in bodies.items()}
    assert {answer.status_code for answer in answers.values()} == {201}
    # A second retry answers the same prompt again.
    assert _retry(server, token, bodies["key-0"], "key-0").json() == answers["key-0"].json()
    assert sorted(_titles(server, token)) == sorted(body["title"] for body in bodies.values())


def test_retries_with_their_keys_after_a_pause_make_one_prompt_each(server: ServerProcess) -> None:
    """SIGSTOP, keyed writes time out, SIGCONT, each retried with its key: exactly one prompt each."""
    token = register(server)
    bodies = {f"paused-{n}": {"title": f"paused {n}", "body": "b"} for n in range(WRITERS)}
    server.signal(signal.SIGSTOP)
    try:
        for key, body in bodies.items():
            _send_and_give_up(
                server.backend_port, _post(server.backend_port, "/api/prompts", token, body, key), 0.05
            )
    finally:
        server.signal(signal.SIGCONT)
    for key, body in bodies.items():
        assert _retry(server, token, body, key).status_code == 201
    assert sorted(_titles(server, token)) == sorted(body["title"] for body in bodies.values())
