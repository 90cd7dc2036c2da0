"""The benchmark harness end to end in its quick mode: the composite, the raw and the Flask floors."""

from __future__ import annotations

import re
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
    command = [sys.executable, "-m", "bench.run", "--quick", "--setups", "composite,floor,flask_floor"]
    command += ["--workloads", "api_health,site_home,site_home_user,floor,flask_floor"]
    command += ["--sizes", "", "--startup-runs", "0", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = out.read_text()
    assert "## Targets" in report
    assert "### GET /api/health" in report
    assert "### website home /" in report
    assert "| composite (python app.py) |" in report
    # The logged-in home page ran (its session came from the login form) and has a share of the floor.
    share_row = next(line for line in report.splitlines() if line.startswith("| website home /, logged in |"))
    _, _, own, floor, floor_rps, share, _uncached, goal, _met, _ = (c.strip() for c in share_row.split("|"))
    assert floor.startswith("Flask hello")
    assert "—" not in (own, floor_rps, share)
    assert goal == "≥ 0.25"
    assert "### GET / (Flask hello, short HTML)" in report
    assert "### GET / (minimal ASGI app)" in report  # a bare ASGI app on make_server
    # The composite's cache counters were scraped: the repeated anonymous home page hit it.
    cache_row = next(line for line in report.splitlines() if line.startswith("| frontend |"))
    assert int(cache_row.split("|")[2].replace(",", "")) > 0
    assert "PSS at rest MiB" in report
    assert out.with_suffix(".svg").read_text().startswith("<svg")


@pytest.mark.slow
def test_quick_traffic_bench_measures_pages_under_writes(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    out = tmp_path / "traffic.md"
    command = [sys.executable, "-m", "bench.traffic", "--quick", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    errors = [int(n) for n in re.findall(r"req/s, (\d+) errors", done.stdout)]
    # Every rotated page of both workloads answered 200, and every mixed write 2xx.
    assert errors == [0, 0, 0], done.stdout
    lines = out.read_text().splitlines()
    rows = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ")}
    for workload in ("website prompt page, 1,000 prompts", "API get one, 1,000 prompts"):
        cell = rows[workload].split("|")[2].strip()
        assert re.fullmatch(r"[\d,]+ \(\d+\.\d\d\)", cell), rows[workload]  # req/s (share of the floor)
    # The writer ran all through: a write rate was met, not just asked for.
    committed = float(rows["writes committed per second, least of the rounds"].split("|")[2])
    assert committed > 0.5
    # The mixed writes: their rate against the floor, transactions per request, the long holds.
    cells = [cell.strip() for cell in rows["this checkout"].split("|")[2:5]]
    assert re.fullmatch(r"[\d,]+ \(\d+\.\d\d\)", cells[0]), cells
    assert re.fullmatch(r"\d+\.\d\d", cells[1]), cells
    assert re.fullmatch(r"[\d,]+ \((none|the longest) over [\d.]+ ms\)", cells[2]), cells
