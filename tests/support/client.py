"""Small HTTP helpers for tests that drive the real process."""

from __future__ import annotations

import socket
import uuid

import httpx

from tests.support.process import ServerProcess


def register(server: ServerProcess, username: str | None = None, password: str = "password123") -> str:
    """Register a user through the API and return a bearer token for it."""
    username = username or f"user-{uuid.uuid4().hex[:8]}"
    fields = {"username": username, "password": password}
    # Password hashing runs a few at a time, so parallel sign-ups wait their turn.
    created = httpx.post(f"{server.backend}/api/users", json=fields, timeout=30)
    assert created.status_code == 201, created.text
    token = httpx.post(f"{server.backend}/api/tokens", json=fields, timeout=30)
    assert token.status_code == 201, token.text
    return token.json()["token"]


def raw_request(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes as they are to a loopback port and return everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
    return b"".join(chunks)


def _complete(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 response."""
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])
