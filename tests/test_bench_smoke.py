"""The benchmark harness end to end in its quick mode: two workloads against the composite."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_bench_writes_the_report(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    out = tmp_path / "performance.md"
    command = [sys.executable, "-m", "bench.run", "--quick", "--setups", "composite"]
    command += ["--workloads", "api_health,site_home", "--sizes", "", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    assert "## Targets" in report
    assert "### GET /api/health" in report
    assert "### website home /" in report
    assert "| composite (python app.py) |" in report
    assert out.with_suffix(".svg").read_text().startswith("<svg")
