"""slowhttptest's slow headers, slow bodies and slow reads against each port of the real process."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.support.process import ServerProcess

pytestmark = pytest.mark.slow

CONNECTIONS = 200
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(scope="module")
def slowhttptest() -> str:
    """The tool's path; skip when it is missing, unless REQUIRE_NGINX (CI) makes that a failure."""
    tool = shutil.which("slowhttptest")
    if tool is None:
        if os.environ.get("REQUIRE_NGINX"):
            pytest.fail("slowhttptest is not installed, and REQUIRE_NGINX is set: these tests must run")
        pytest.skip("slowhttptest is not installed (Debian package slowhttptest)")
    return tool


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    """One process with short body and send deadlines, so each attack ends within its run."""
    process = ServerProcess(
        tmp_path_factory.mktemp("slowhttptest"), env={"BODY_TIMEOUT": "5", "SEND_TIMEOUT": "5"}
    ).start()
    yield process  # type: ignore[misc]
    process.stop()


ATTACKS = {
    # mode: (arguments, the attack's length in seconds (-l), path on the backend, on the frontend)
    # Headers: closed by the 10 s header deadline.
    "slow-headers": (["-H"], 25, "/api/health", "/healthz"),
    # Bodies: 8 KB declared, a few bytes every 2 s; closed by BODY_TIMEOUT=5 (408).
    "slow-body": (["-B", "-s", "8192"], 20, "/api/users", "/login"),
    # Reads: a receive window of 16-64 bytes read 256 bytes a second, each connection
    # asking twice (72 KB from the API, 20 KB from the site); closed once the client has
    # had SEND_TIMEOUT plus a second per BODY_MIN_RATE bytes still unread.
    "slow-read": (
        ["-X", "-k", "2", "-n", "1", "-w", "16", "-y", "64", "-z", "256"],
        50,
        "/api/openapi.json",
        "/static/style.css",
    ),
}


@pytest.mark.parametrize("side", ["backend", "frontend"])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_slowhttptest_attack_blocks_no_one_and_its_connections_are_closed(
    slowhttptest: str, server: ServerProcess, tmp_path: Path, attack: str, side: str
) -> None:
    arguments, length, backend_path, frontend_path = ATTACKS[attack]
    base = server.backend if side == "backend" else server.frontend
    url = base + (backend_path if side == "backend" else frontend_path)
    report = tmp_path / "report"
    failures: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        # The other port and this port's health check answer throughout the attack.
        with httpx.Client(timeout=3) as client:
            while not stop.wait(0.5):
                for probe in (f"{server.backend}/api/health", f"{server.frontend}/healthz"):
                    try:
                        status = client.get(probe).status_code
                    except httpx.HTTPError as exc:
                        failures.append(f"{probe}: {type(exc).__name__}")
                        continue
                    if status != 200:
                        failures.append(f"{probe}: {status}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    try:
        result = subprocess.run(
            [
                slowhttptest,
                *arguments,
                "-c",
                str(CONNECTIONS),
                "-r",
                "200",
                "-i",
                "2",
                "-l",
                str(length),
                "-p",
                "3",
                "-g",
                "-o",
                str(report),
                "-u",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=length + 60,
            check=False,
        )
    finally:
        stop.set()
        watcher.join()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    output = ANSI.sub("", result.stdout)
    with (tmp_path / "report.csv").open() as source:
        rows = list(csv.DictReader(source))
    opened = max(int(row["Connected"]) + int(row["Closed"]) for row in rows)
    assert opened >= CONNECTIONS * 0.9, rows[:5]  # the attack really ran
    # slowhttptest stops early when the server has closed every connection; at its time
    # limit it would say "Hit test time limit".
    assert "Exit status: No open connections left" in output, output[-1500:]
    assert all(int(row["Service Available"]) > 0 for row in rows)  # slowhttptest's own probe
    assert failures == [], failures[:10]
    ended = re.search(r"Test ended on (\d+)", output)
    print(
        f"\n{attack} on the {side}: {opened} connections, all closed by the server; the attack ended "
        f"on second {ended.group(1) if ended else '?'} of {length}; the other port and /healthz answered "
        f"throughout (run {time.monotonic() - started:.0f} s)"
    )
