"""What the real process does at the HTTP level: early answers, the access log, forwarded headers."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.test_protocol import read_response
from tests.support.client import status_of
from tests.support.process import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One process with the default settings (no FORWARDED_ALLOW_IPS from the caller's environment)."""
    process = ServerProcess(tmp_path_factory.mktemp("transport"))
    process.env.pop("FORWARDED_ALLOW_IPS", None)
    process.start()
    yield process
    process.stop()


@pytest.mark.parametrize("side", ["backend", "frontend"])
def test_a_600_kb_post_to_a_missing_route_gets_404_and_the_connection_stays_open(
    server: ServerProcess, side: str
) -> None:
    port, path, health = (
        (server.backend_port, "/api/nowhere", "/api/health")
        if side == "backend"
        else (server.frontend_port, "/nowhere", "/healthz")
    )
    body = b"x" * 600_000
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(10)
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        for start in range(0, len(body), 60_000):
            sock.sendall(body[start : start + 60_000])
            time.sleep(0.01)
        assert status_of(read_response(sock)) == 404
        # Before, the rest of the body counted as the next request's headers: an
        # unrequested 431 and a closed connection while the client was still uploading.
        sock.sendall(f"GET {health} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        assert status_of(read_response(sock)) == 200


def test_the_access_log_redacts_credentials_in_query_strings(server: ServerProcess) -> None:
    query = "q=hello&token=tok-SECRET1&api_key=key-SECRET2&Password=pw-SECRET3&x-signature=sig-SECRET4&page=2"
    assert httpx.get(f"{server.backend}/api/health?{query}").status_code == 200
    assert httpx.get(f"{server.frontend}/healthz?{query}&%73ession=ses-SECRET5").status_code == 200
    time.sleep(0.3)
    log = server.log()
    assert "SECRET" not in log
    assert (
        "q=hello&token=[redacted]&api_key=[redacted]&Password=[redacted]&x-signature=[redacted]&page=2" in log
    )
    assert "%73ession=[redacted]" in log


def test_forwarded_headers_are_trusted_from_no_one_by_default(server: ServerProcess, tmp_path: Path) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert httpx.get(f"{server.backend}/api/health?who=default", headers=forged).status_code == 200
    time.sleep(0.3)
    line = next(line for line in server.log().splitlines() if "who=default" in line)
    assert "203.0.113.9" not in line, line
    assert " 127.0.0.1:" in line, line
    # Trusting loopback is an explicit choice (nginx on the same host).
    trusting = ServerProcess(tmp_path, env={"FORWARDED_ALLOW_IPS": "127.0.0.1"}).start()
    try:
        assert httpx.get(f"{trusting.backend}/api/health?who=trusted", headers=forged).status_code == 200
        time.sleep(0.3)
        line = next(line for line in trusting.log().splitlines() if "who=trusted" in line)
        assert "203.0.113.9" in line, line
    finally:
        trusting.stop()
