"""A full disk, against the real process on a small tmpfs (mounted by the test, as root).

The database lives on a tmpfs of a few MiB: a filler file takes its space, as a log or a
backup would on a real host, so DuckDB meets the same ENOSPC a full disk gives it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import register
from tests.support.operations import admin
from tests.support.process import ServerProcess, free_port, run_app
from tests.support.smallfs import fill, small_filesystem
from tests.support.web import Browser

MIB = 1024 * 1024
NEW = {"title": "On a full disk", "body": "Kept or refused whole.", "tags": ["disk"]}
# The free space the server reads stands for a second (composite/db/space.py).
CACHED_SECONDS = 1.1


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """The server's data directory as a 64 MiB tmpfs."""
    with small_filesystem(tmp_path / "data", 64) as directory:
        yield directory


def start(tmp_path: Path, **env: str) -> ServerProcess:
    return ServerProcess(tmp_path, env=env).start()


def prompt_count(server: ServerProcess, token: str) -> int:
    mine = httpx.get(f"{server.backend}/api/prompts?limit=100&mine=true", headers=bearer(token), timeout=10)
    return (
        sum(1 for p in mine.json()["items"] if p["title"] == NEW["title"]) if mine.status_code == 200 else -1
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_below_the_reserve_writes_get_507_on_both_apps_health_is_degraded_and_metrics_say_why(
    tmp_path: Path, data_dir: Path
) -> None:
    metrics_port = free_port()
    server = start(tmp_path, DISK_DEGRADED_MB="40", DISK_RESERVE_MB="16", METRICS_PORT=str(metrics_port))
    try:
        token = register(server)
        health = httpx.get(f"{server.backend}/api/health", timeout=10).json()
        assert health["status"] == "ok"
        assert health["disk_free_bytes"] > 40 * MIB
        with Browser(server) as browser:
            browser.register("disky")
            filler = fill(data_dir, leave=8 * MIB)
            time.sleep(CACHED_SECONDS)

            refused = httpx.post(f"{server.backend}/api/prompts", json=NEW, headers=bearer(token), timeout=10)
            assert refused.status_code == 507
            assert "not enough disk space" in refused.json()["detail"]
            assert "nothing was written" in refused.json()["detail"]
            fields = {"title": "Site", "body": "x", "tags": "", "visibility": "public", "description": ""}
            page = browser.post("/prompts/new", {**fields, "model_hint": ""})
            assert page.status_code == 507
            assert "out of disk space, so nothing was saved" in page.text

            for url in (f"{server.backend}/api/health", f"{server.frontend}/healthz"):
                answer = httpx.get(url, timeout=10)
                assert answer.status_code == 200  # reads are served: degraded, not down
                assert answer.json()["status"] == "degraded"
                assert answer.json()["disk_free_bytes"] < 16 * MIB
            scrape = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            free = next(line for line in scrape.splitlines() if line.startswith("composite_disk_free_bytes "))
            assert float(free.split()[1]) < 16 * MIB

            filler.unlink()
            time.sleep(CACHED_SECONDS)
            assert prompt_count(server, token) == 0  # the refused write left nothing
            created = httpx.post(f"{server.backend}/api/prompts", json=NEW, headers=bearer(token), timeout=10)
            assert created.status_code == 201, created.text
            assert httpx.get(f"{server.backend}/api/health", timeout=10).json()["status"] == "ok"
    finally:
        assert server.stop() in (0, -signal.SIGTERM)
    assert "Traceback" not in server.log()


def test_a_write_the_disk_refuses_gets_507_and_leaves_nothing_half_written(
    tmp_path: Path, data_dir: Path
) -> None:
    # No reserve: the write reaches DuckDB, whose WAL write fails with ENOSPC at COMMIT.
    server = start(tmp_path, DISK_DEGRADED_MB="0", DISK_RESERVE_MB="0")
    try:
        token = register(server)
        filler = fill(data_dir)
        big = {**NEW, "body": "x" * 40_000}
        answers = [
            httpx.post(f"{server.backend}/api/prompts", json=big, headers=bearer(token), timeout=10)
            for _ in range(3)
        ]
        assert {a.status_code for a in answers} == {507}, [a.text for a in answers]
        filler.unlink()
        time.sleep(CACHED_SECONDS)
        assert prompt_count(server, token) == 0
        created = httpx.post(f"{server.backend}/api/prompts", json=big, headers=bearer(token), timeout=10)
        assert created.status_code == 201, created.text
        assert prompt_count(server, token) == 1
    finally:
        status = server.stop()
    assert status in (0, -signal.SIGTERM), server.log()


def test_an_invalidated_database_ends_the_process_with_one_line_and_a_failure_status(
    tmp_path: Path, data_dir: Path
) -> None:
    # A checkpoint with no room to write: DuckDB's FatalException, the database invalidated.
    server = start(tmp_path, DISK_DEGRADED_MB="0", DISK_RESERVE_MB="0")
    token = register(server)
    for n in range(20):
        body = {**NEW, "title": f"{NEW['title']} {n}", "body": f"{n} " * 2000}
        assert (
            httpx.post(
                f"{server.backend}/api/prompts", json=body, headers=bearer(token), timeout=10
            ).status_code
            == 201
        )
    fill(data_dir)
    started = time.monotonic()
    result = admin(server, "checkpoint", timeout=30)
    assert result.returncode != 0
    try:
        status = server.wait(20)
    except subprocess.TimeoutExpired:
        server.stop()
        pytest.fail(f"the process did not exit:\n{server.log()}")
    took = time.monotonic() - started
    log = server.log()
    assert status == 4, log  # EXIT_FATAL: systemd's Restart=on-failure and compose restart on it
    assert took < 10, took
    assert f"error: database {server.database} is invalidated by a fatal error" in log
    assert "the process must restart" in log
    assert "Traceback" not in log
    # Nothing left listening: the supervisor's new process can bind both ports at once.
    for port in (server.backend_port, server.frontend_port):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


def test_a_read_only_data_directory_is_named_with_its_database(tmp_path: Path) -> None:
    # A tmpfs remounted read-only: root ignores file modes, not a read-only mount.
    with small_filesystem(tmp_path / "data", 1) as data:
        subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        result = run_app(tmp_path, {"DATABASE_PATH": str(data / "app.db")})
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: data directory {data} is not writable (it is read-only): "
        f"cannot open the database {data / 'app.db'}"
    )
    assert "admin" not in result.stderr  # the socket beside it is not what failed
