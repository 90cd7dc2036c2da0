"""``composite serve --access-log/--no-access-log`` on the real command."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.server.test_cli import STOPPED, WHO, Served, config_file, refusal
from tests.support.process import free_port

LINE = '"GET /who HTTP/1.1" 200'


def test_the_access_log_is_on_by_default_and_off_when_told(tmp_path: Path) -> None:
    logged, quiet = free_port(), free_port()
    config = tmp_path / "composite.toml"
    config.write_text("access-log = true\n")  # the flag wins over the file
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    on = Served(tmp_path / "on", "--mount", f"{logged}={WHO}")
    off = Served(tmp_path / "off", "--config", str(config), "--no-access-log", "--mount", f"{quiet}={WHO}")
    try:
        on.wait_ready(logged)
        off.wait_ready(quiet)
        assert httpx.get(f"http://127.0.0.1:{logged}/who").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{quiet}/who").status_code == 200
    finally:
        assert on.stop() in STOPPED
        assert off.stop() in STOPPED
    assert LINE in on.log()
    assert LINE not in off.log()
    assert f"listening on http://127.0.0.1:{quiet}" in off.log()  # the rest of the log stays


def test_access_log_in_the_config_file_must_be_true_or_false(tmp_path: Path) -> None:
    config = config_file(tmp_path, 'access_log = "off"')
    stderr = refusal(tmp_path, "--config", str(config))
    assert stderr == "error: access-log: must be true or false, got 'off'\n"
