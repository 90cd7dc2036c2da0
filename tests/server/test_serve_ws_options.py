"""``composite serve --ws-max-size/--ws-ping-interval/--ws-ping-timeout`` on the real command."""

from __future__ import annotations

import base64
import os
import socket
import time
from pathlib import Path

import pytest

from tests.server.test_cli import APPS, STOPPED, Served, refusal
from tests.support.process import free_port

API = f"{APPS}.api:app"


def test_a_websocket_message_above_ws_max_size_is_refused_with_1009(tmp_path: Path) -> None:
    client = pytest.importorskip(
        "websockets.sync.client", reason="the websockets client is not installed in this environment"
    )
    exceptions = pytest.importorskip("websockets.exceptions", reason="the websockets client is not installed")
    port = free_port()
    served = Served(tmp_path, "--ws-max-size", "1k", "--mount", f"{port}={API}")
    try:
        served.wait_ready(port)
        with client.connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as websocket:
            websocket.send("x" * 1000)
            assert websocket.recv(timeout=5) == "echo: " + "x" * 1000
            websocket.send("x" * 1025)
            with pytest.raises(exceptions.ConnectionClosed) as closed:
                websocket.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009
    finally:
        assert served.stop() in STOPPED


def _handshake(port: int) -> socket.socket:
    """A websocket opened by hand, by a client that will never answer a ping."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    conn.sendall(
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return conn


def test_ws_ping_interval_and_timeout_from_the_config_file(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "composite.toml"
    config.write_text(
        f'ws-ping-interval = 0.3\nws_ping_timeout = 0.5\n[[mount]]\nport = {port}\napp = "{API}"\n'
    )
    served = Served(tmp_path, "--config", str(config))
    try:
        served.wait_ready(port)
        with _handshake(port) as conn:
            opened = time.monotonic()
            frames = b""
            while chunk := conn.recv(4096):
                frames += chunk
            closed = time.monotonic() - opened
        assert frames[0] == 0x89  # a ping (FIN, opcode 9), never answered...
        assert closed < 10.0  # ...so the connection is closed (uvicorn's defaults would wait 40 s)
    finally:
        assert served.stop() in STOPPED


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--ws-max-size", "off"), "ws-max-size: must be a size of at least 1 byte, got 'off'"),
        (("--ws-max-size", "lots"), "ws-max-size: 'lots' is not a size (use bytes, 512k, 1m, or off)"),
        (
            ("--ws-ping-interval", "-1"),
            "ws-ping-interval: must be a number of seconds above 0, or off, got '-1'",
        ),
        (
            ("--ws-ping-timeout", "soon"),
            "ws-ping-timeout: must be a number of seconds above 0, or off, got 'soon'",
        ),
    ],
)
def test_bad_ws_values_are_one_line_and_status_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    assert refusal(tmp_path, *args, "--mount", f"{free_port()}={API}") == f"error: {message}\n"
