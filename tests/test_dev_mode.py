"""python app.py --reload (make dev): a saved template is served at once, with development pages."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import httpx

from tests.support.process import ROOT, ServerProcess


def test_a_saved_template_is_served_after_the_restart_with_development_settings(tmp_path: Path) -> None:
    # A copy of the code, so that editing a template cannot disturb other tests.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "composite", source / "composite", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "app.py", source / "app.py")
    server = ServerProcess(tmp_path, env={"PYTHONPATH": str(source)})
    server.command = [str(source / "app.py"), "--reload"]
    server.start(timeout=60)
    try:
        home = httpx.get(f"{server.frontend}/").text
        assert "Edited while running" not in home
        static = httpx.get(f"{server.frontend}/static/style.css")
        # Development serves static files without a long cache, so an edit shows on reload.
        assert "max-age=3600" not in static.headers.get("cache-control", "")
        template = source / "composite/library/frontend/templates/index.html"
        template.write_text(template.read_text().replace("<h1", "<p>Edited while running</p><h1", 1))
        saved = time.monotonic()
        while "Edited while running" not in _page(f"{server.frontend}/"):
            assert time.monotonic() - saved < 60, server.log()
            time.sleep(0.2)
        assert "watching" in server.log()
    finally:
        server.signal(signal.SIGINT)
        status = server.wait(20)
    assert status in (0, 130, -signal.SIGINT), server.log()
    assert "Traceback" not in server.log()


def _page(url: str) -> str:
    try:
        return httpx.get(url, timeout=20).text
    except httpx.HTTPError:
        return ""
