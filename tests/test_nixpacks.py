"""The Nixpacks path: the Procfile's start command, with nixpacks.toml's settings, serves the site.

The nixpacks tool cannot be installed from the package registries here, so its build plan
is not run; what it would start is.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx

from tests.support.process import ROOT, free_port


def web_command() -> str:
    """The Procfile's ``web`` process."""
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    return lines["web"].strip()


def test_nixpacks_settings_name_python_311_and_production() -> None:
    plan = tomllib.loads((ROOT / "nixpacks.toml").read_text())
    assert plan["variables"]["NIXPACKS_PYTHON_VERSION"] == "3.11"
    assert plan["variables"]["APP_ENV"] == "production"
    assert any("requirements.lock" in command for command in plan["phases"]["install"]["cmds"])
    assert "PUBLIC_PORT=${PORT" in web_command()
    # exec: python itself gets the platform's SIGTERM, not a shell that would ignore it.
    assert web_command().startswith("exec ")


def test_the_start_command_serves_the_whole_site_on_one_port(tmp_path: Path) -> None:
    source = tmp_path / "app"
    keep_out = shutil.ignore_patterns(".venv", ".git", "__pycache__", "data", "bench", "tests", "docs")
    shutil.copytree(ROOT, source, ignore=keep_out)
    plan = tomllib.loads((ROOT / "nixpacks.toml").read_text())
    port = free_port()
    env = {
        **plan["variables"],
        # The platform's environment: its PORT, a secret, and Python first on the PATH.
        "PORT": str(port),
        "SECRET_KEY": "nixpacks-test-secret-key-0123456789abcdef",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
        "BACKEND_PORT": str(free_port()),
        "FRONTEND_PORT": str(free_port()),
        "ADMIN_SOCKET": "",
    }
    log = (tmp_path / "app.log").open("wb")
    proc = subprocess.Popen(["sh", "-c", web_command()], cwd=source, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "app.log").read_text()
            try:
                health = httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, (tmp_path / "app.log").read_text()
                time.sleep(0.1)
        assert health.status_code == 200
        assert health.json()["app"] == "backend"
        assert httpx.get(f"{base}/healthz").json()["app"] == "frontend"
        assert "text/html" in httpx.get(f"{base}/").headers["content-type"]
        assert (source / "data" / "app.db").exists()  # under /app/data, the volume's place
    finally:
        proc.send_signal(signal.SIGTERM)  # to the shell, which exec made python itself
        try:
            status = proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    assert status in (0, -signal.SIGTERM, 128 + signal.SIGTERM), (tmp_path / "app.log").read_text()
