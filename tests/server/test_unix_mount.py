"""A mount on a Unix-domain socket, routed by its path, next to TCP mounts on one server."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import httpx
import pytest

from composite.server import Mount, PortRouter, ServerError
from composite.server.asgi import Receive, Scope, Send, plain_response
from composite.server.unix import bind_unix
from tests.support.live import serving


def _named(name: str):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await plain_response(scope, send, 200, f"{name} {scope['server'][1]}")

    return app


def test_unix_mount_is_routed_by_path_and_tcp_mounts_by_port(tmp_path: Path) -> None:
    path = str(tmp_path / "admin.sock")
    other = str(tmp_path / "other.sock")
    router = PortRouter(
        [
            Mount("web", 0, _named("web")),
            Mount("admin", 0, _named("admin"), path=path),
            Mount("other", 0, _named("other"), path=other),
        ]
    )
    with serving(router) as ports:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert httpx.get(f"http://127.0.0.1:{ports[0]}/").text == f"web {ports[0]}"
        for name, where in (("admin", path), ("other", other)):
            with httpx.Client(transport=httpx.HTTPTransport(uds=where)) as client:
                assert client.get("http://admin/").text == f"{name} None"


def test_stale_socket_file_is_replaced_and_a_live_one_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "admin.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens: what a kill -9 leaves
    live = bind_unix(path, "admin")
    try:
        with pytest.raises(ServerError, match="in use by another server"):
            bind_unix(path, "admin")
    finally:
        live.close()


def test_a_regular_file_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "admin.sock"
    path.write_text("precious")
    with pytest.raises(ServerError, match="is not a socket"):
        bind_unix(str(path), "admin")
    assert path.read_text() == "precious"


def test_a_mount_can_listen_on_its_own_address() -> None:
    router = PortRouter([Mount("web", 0, _named("web")), Mount("metrics", 0, _named("m"), host="127.0.0.2")])
    with serving(router) as ports:
        assert httpx.get(f"http://127.0.0.2:{ports[1]}/").text == f"m {ports[1]}"
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{ports[1]}/")
