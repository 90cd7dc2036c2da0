"""``composite serve`` connection options on the real command: keep-alive, concurrency, backlog, recycling."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.server.test_cli import STOPPED, WHO, Served, config_file, refusal
from tests.support.process import free_port

REQUEST = b"GET /who HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _seconds_until_closed(port: int) -> float:
    """How long the server keeps a keep-alive connection open after answering one request."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
        conn.sendall(REQUEST)
        answer = b""
        while b'"second"' not in answer:
            answer += conn.recv(65536)
        answered = time.monotonic()
        while conn.recv(65536):
            pass
        return time.monotonic() - answered


def test_timeout_keep_alive_closes_an_idle_connection_when_told(tmp_path: Path) -> None:
    port = free_port()
    served = Served(tmp_path, "--timeout-keep-alive", "0.5", "--mount", f"{port}={WHO}")
    try:
        served.wait_ready(port)
        assert _seconds_until_closed(port) < 4.0  # the default of 5 would keep it longer
    finally:
        assert served.stop() in STOPPED


def test_timeout_keep_alive_from_the_config_file(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "composite.toml"
    config.write_text(f'timeout-keep-alive = 2\n[[mount]]\nport = {port}\napp = "{WHO}"\n')
    served = Served(tmp_path, "--config", str(config))
    try:
        served.wait_ready(port)
        assert 1.5 < _seconds_until_closed(port) < 4.5  # not the flag test's 0.5, nor the default 5
    finally:
        assert served.stop() in STOPPED


def test_limit_concurrency_caps_open_connections_on_each_port(tmp_path: Path) -> None:
    capped, other = free_port(), free_port()
    served = Served(
        tmp_path, "--limit-concurrency", "2", "--mount", f"{capped}={WHO}", "--mount", f"{other}={WHO}"
    )
    try:
        served.wait_ready(capped, other)
        held = [socket.create_connection(("127.0.0.1", capped)) for _ in range(2)]
        try:
            for conn in held:
                conn.sendall(b"GET /who HTTP/1.1\r\n")  # a request begun: the connection stays open
            time.sleep(0.3)  # accepted and counted by the server
            assert httpx.get(f"http://127.0.0.1:{capped}/who").status_code == 503
            # Each port has its own cap: the crowd on one does not turn the other's users away.
            assert httpx.get(f"http://127.0.0.1:{other}/who").status_code == 200
        finally:
            for conn in held:
                conn.close()
        time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{capped}/who").status_code == 200
    finally:
        assert served.stop() in STOPPED


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2) to read a socket's backlog")
def test_backlog_is_the_listening_sockets_queue(tmp_path: Path) -> None:
    port = free_port()
    served = Served(tmp_path, "--backlog", "7", "--mount", f"{port}={WHO}")
    try:
        served.wait_ready(port)
        # For a listening socket, ss shows the backlog in the Send-Q column.
        listing = subprocess.run(
            ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert listing[:3] == ["LISTEN", "0", "7"], listing
    finally:
        assert served.stop() in STOPPED


def test_max_requests_stops_gracefully_with_status_5(tmp_path: Path) -> None:
    port = free_port()
    served = Served(tmp_path, "--max-requests", "3", "--mount", f"{port}={WHO}")
    served.wait_ready(port)  # one request
    with httpx.Client() as client:
        answers = [client.get(f"http://127.0.0.1:{port}/who") for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 200]
    try:
        assert served.proc.wait(10) == 5
    finally:
        served.stop()
    log = served.log()
    assert "stopped after 3 requests (max-requests), exit status 5" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--timeout-keep-alive", "soon"),
            "timeout-keep-alive: must be a number of seconds above 0, got 'soon'",
        ),
        (("--timeout-keep-alive", "0"), "timeout-keep-alive: must be a number of seconds above 0, got '0'"),
        (("--limit-concurrency", "0"), "limit-concurrency: must be a whole number of at least 1, got '0'"),
        (("--backlog", "-3"), "backlog: must be a whole number of at least 1, got '-3'"),
        (("--max-requests", "many"), "max-requests: must be a whole number of at least 1, got 'many'"),
    ],
)
def test_a_bad_value_is_one_line_and_status_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    assert refusal(tmp_path, *args, "--mount", f"{free_port()}={WHO}") == f"error: {message}\n"


def test_a_bad_value_in_the_config_file_is_one_line(tmp_path: Path) -> None:
    config = config_file(tmp_path, "max_requests = true")
    stderr = refusal(tmp_path, "--config", str(config))
    assert stderr == "error: max-requests: must be a whole number of at least 1, got True\n"
