"""``composite serve --header`` and ``--server-header`` on the real command, ASGI and WSGI mounts alike."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from composite import __version__
from tests.server.test_cli import APPS, STOPPED, WHO, Served, config_file, refusal
from tests.support.process import free_port

FLASKR = f"{APPS}.flaskr:create_app()"


def test_headers_go_on_every_answer_of_every_port_and_no_server_header_by_default(tmp_path: Path) -> None:
    api, web = free_port(), free_port()
    served = Served(
        tmp_path,
        "--header",
        "X-Frame-Options: DENY",
        "--header",
        "X-Served-By:edge-1",
        "--mount",
        f"{api}={WHO}",
        "--mount",
        f"{web}={FLASKR}",
    )
    try:
        served.wait_ready(api, web)
        for url in (
            f"http://127.0.0.1:{api}/who",
            f"http://127.0.0.1:{api}/nothing",
            f"http://127.0.0.1:{web}/",
        ):
            answer = httpx.get(url)
            assert answer.headers["x-frame-options"] == "DENY", url
            assert answer.headers["x-served-by"] == "edge-1", url
            assert "server" not in answer.headers, url
    finally:
        assert served.stop() in STOPPED


def test_server_header_names_composite_unless_a_header_names_another(tmp_path: Path) -> None:
    own, given = free_port(), free_port()
    config = tmp_path / "composite.toml"
    config.write_text(f'server-header = true\n[[mount]]\nport = {own}\napp = "{WHO}"\n')
    named = Served(tmp_path, "--config", str(config))
    renamed = Served(tmp_path, "--server-header", "--header", "Server: edge", "--mount", f"{given}={WHO}")
    try:
        named.wait_ready(own)
        renamed.wait_ready(given)
        assert httpx.get(f"http://127.0.0.1:{own}/who").headers.get_list("server") == [
            f"composite/{__version__}"
        ]
        assert httpx.get(f"http://127.0.0.1:{given}/who").headers.get_list("server") == ["edge"]
    finally:
        assert named.stop() in STOPPED
        assert renamed.stop() in STOPPED


def test_the_flag_turns_off_a_server_header_the_config_file_asks_for(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "composite.toml"
    config.write_text(
        f'server_header = true\nheader = {{ "X-Frame-Options" = "SAMEORIGIN" }}\n'
        f'[[mount]]\nport = {port}\napp = "{WHO}"\n'
    )
    served = Served(tmp_path, "--config", str(config), "--no-server-header")
    try:
        served.wait_ready(port)
        answer = httpx.get(f"http://127.0.0.1:{port}/who")
        assert "server" not in answer.headers
        assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    finally:
        assert served.stop() in STOPPED


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("X-Frame-Options", "header: 'X-Frame-Options' is not NAME:VALUE, e.g. 'X-Frame-Options: DENY'"),
        ("X Frame: DENY", "header: 'X Frame' is not a header name"),
        ("Content-Length: 0", "header: Content-Length is written by the server for each response"),
        ("X-Note: one\rtwo", "header: the value of X-Note has a character a header cannot carry"),
    ],
)
def test_a_bad_header_is_one_line_and_status_2(tmp_path: Path, header: str, message: str) -> None:
    assert refusal(tmp_path, "--header", header, "--mount", f"{free_port()}={WHO}") == f"error: {message}\n"


def test_server_header_in_the_config_file_must_be_true_or_false(tmp_path: Path) -> None:
    config = config_file(tmp_path, 'server-header = "yes please"')
    stderr = refusal(tmp_path, "--config", str(config))
    assert stderr == "error: server-header: must be true or false, got 'yes please'\n"
