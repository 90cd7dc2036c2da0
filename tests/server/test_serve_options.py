"""``composite serve`` options as the real command takes them: config spellings, several hosts."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from tests.server.test_cli import APPS, STOPPED, Served, run_serve
from tests.support.process import ROOT, database_held_by_another_process, free_port


def test_config_takes_the_flag_spellings_and_a_split(tmp_path: Path) -> None:
    web, api, shared = free_port(), free_port(), free_port()
    config = tmp_path / "composite.toml"
    # As the README documents it: flag spellings (app-dir, body-limit) and a [[split]] table.
    config.write_text(
        f'app-dir = "{ROOT}"\n'
        f'[[mount]]\nport = {web}\napp = "{APPS}.flaskr:create_app()"\nname = "web"\nbody-limit = "1k"\n'
        f'[[mount]]\nport = {api}\napp = "{APPS}.second:build()"\nname = "api"\n'
        f'[[split]]\nport = {shared}\nroutes = {{ "/who" = "api", "/" = "web" }}\n'
    )
    served = Served(tmp_path, "--config", str(config))
    try:
        served.wait_ready(web, api, shared)
        assert httpx.get(f"http://127.0.0.1:{shared}/who").json() == {"who": "second"}
        assert httpx.get(f"http://127.0.0.1:{shared}/").json()["posts"] == []
        assert httpx.post(f"http://127.0.0.1:{web}/echo-length", content=b"x" * 2000).status_code == 413
    finally:
        assert served.stop() in STOPPED


def test_an_option_given_in_both_spellings_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "composite.toml"
    config.write_text(f'[[mount]]\nport = 1\napp = "{APPS}.api:app"\nbody-limit = "1k"\nbody_limit = "2k"\n')
    result = run_serve(tmp_path, "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: --config {config}: mount 1: body_limit is given twice (body-limit and body_limit)"
    )


def test_every_host_given_is_listened_on(tmp_path: Path) -> None:
    port = free_port()
    # Served gives --host 127.0.0.1 first; a second --host adds an address instead of replacing it.
    served = Served(tmp_path, "--host", "127.0.0.2", "--mount", f"{port}={APPS}.second:build()")
    try:
        served.wait_ready(port)
        for host in ("127.0.0.1", "127.0.0.2"):
            assert httpx.get(f"http://{host}:{port}/who").json() == {"who": "second"}
        log = served.log()
        assert f"listening on http://127.0.0.1:{port}" in log
        assert f"listening on http://127.0.0.2:{port}" in log
    finally:
        assert served.stop() in STOPPED


def test_a_port_taken_on_one_of_the_hosts_binds_none(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.2", port))
        taken.listen()
        result = run_serve(
            tmp_path, "--host", "127.0.0.1", "--host", "127.0.0.2", "--mount", f"{port}={APPS}.second:build()"
        )
    assert result.returncode == 3, result.stderr
    assert f"error: port {port} (" in result.stderr
    assert "on 127.0.0.2 is already in use" in result.stderr


def test_a_database_held_elsewhere_names_the_option_that_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    config = tmp_path / "composite.toml"
    config.write_text(f'database = "{path}"\n')
    mount = f"{free_port()}={APPS}.second:build()"
    with database_held_by_another_process(path) as pid:
        by_flag = run_serve(tmp_path, "--database", str(path), "--mount", mount)
        by_config = run_serve(tmp_path, "--config", str(config), "--mount", mount)
    for result, option in ((by_flag, "--database"), (by_config, f"database in --config {config}")):
        assert result.returncode == 3, result.stderr
        assert f"is locked by process {pid}" in result.stderr
        assert f"stop it or use another {option}\n" in result.stderr
        assert "DATABASE_PATH" not in result.stderr
