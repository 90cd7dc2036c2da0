"""``composite serve --env-file`` on the real command: variables set before the applications load."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.test_cli import APPS, SERVE_ENV, STOPPED, Served, run_serve
from tests.support.process import free_port


def test_the_env_file_is_read_before_the_apps_and_the_environment_wins(tmp_path: Path) -> None:
    port = free_port()
    env_file = tmp_path / "app.env"
    env_file.write_text('GREETING="hello from the file"\nPATH=/nowhere\n')
    served = Served(tmp_path, "--env-file", str(env_file), "--mount", f"{port}={APPS}.greeting:app")
    try:
        served.wait_ready(port)
        assert httpx.get(f"http://127.0.0.1:{port}/").text == f"hello from the file {SERVE_ENV['PATH']}"
    finally:
        assert served.stop() in STOPPED


def test_a_missing_env_file_is_one_line_and_status_2(tmp_path: Path) -> None:
    config = tmp_path / "composite.toml"
    config.write_text('env-file = "missing.env"\n')
    result = run_serve(tmp_path, "--config", str(config), "--mount", f"{free_port()}={APPS}.greeting:app")
    assert result.returncode == 2, result.stderr
    assert result.stderr == "error: env-file: no such file missing.env\n"
