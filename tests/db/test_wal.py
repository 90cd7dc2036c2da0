"""A write-ahead log that is not DuckDB's is set aside with a warning; DuckDB's own is replayed."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from composite.db import Database
from composite.db.wal import CORRUPT_SUFFIX, WAL_START, set_aside_unreadable_wal, wal_path
from tests.support.process import ROOT, ServerProcess

# A process that commits a row after a checkpoint and dies without closing: its commit is
# in the log only, as after a kill -9.
CRASH_AFTER_COMMIT = """
import os, sys, duckdb
c = duckdb.connect(sys.argv[1])
c.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
c.execute("INSERT INTO t VALUES (1)")
c.execute("CHECKPOINT")
c.execute("INSERT INTO t VALUES (2)")
os._exit(0)
"""


def crashed(path: Path) -> Path:
    """A database whose second row is committed in its log only."""
    subprocess.run([sys.executable, "-c", CRASH_AFTER_COMMIT, str(path)], check=True, cwd=ROOT)
    assert wal_path(path).stat().st_size > 0
    return path


def rows(path: Path) -> list[int]:
    db = Database(path).open()
    try:
        return [x for (x,) in db.fetchall("SELECT x FROM t ORDER BY x")]
    finally:
        db.close()


def set_aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.wal{CORRUPT_SUFFIX}*"))


def test_duckdbs_own_log_starts_as_the_check_expects(tmp_path: Path) -> None:
    # Fails on a DuckDB upgrade that changes the log's first bytes, before any log is moved.
    path = crashed(tmp_path / "a.db")
    assert wal_path(path).read_bytes().startswith(WAL_START)


def test_a_crashed_processs_log_is_replayed_and_left_alone(tmp_path: Path) -> None:
    path = crashed(tmp_path / "a.db")
    assert rows(path) == [1, 2]
    assert set_aside(path) == []


def test_a_log_torn_by_a_crash_is_left_to_duckdb(tmp_path: Path) -> None:
    path = crashed(tmp_path / "a.db")
    wal = wal_path(path)
    wal.write_bytes(wal.read_bytes()[:-20])  # the last entry cut short
    assert set_aside_unreadable_wal(path) is None
    assert wal.exists()
    assert rows(path) == [1]  # the torn commit was never whole


@pytest.mark.parametrize("garbage", [os.urandom(4096), b"\0" * 4096, b"not a log\n" * 50])
def test_a_log_that_is_not_duckdbs_is_moved_aside_with_a_warning(
    tmp_path: Path, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = crashed(tmp_path / "a.db")
    wal_path(path).write_bytes(garbage)
    with caplog.at_level(logging.WARNING, logger="composite.db"):
        assert rows(path) == [1]
    [moved] = set_aside(path)
    assert moved.read_bytes() == garbage  # kept whole for the operator
    warning = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "is not a DuckDB write-ahead log" in warning, warning
    assert moved.name in warning, warning


def test_the_server_warns_moves_the_log_aside_and_serves(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    server.start()
    created = httpx.post(
        f"{server.backend}/api/users", json={"username": "walter", "password": "password123"}, timeout=10
    )
    assert created.status_code == 201, created.text
    assert server.stop() is not None  # a clean stop: everything checkpointed into the file
    garbage = os.urandom(8192)
    wal_path(server.database).write_bytes(garbage)
    server.start()
    try:
        user = httpx.get(f"{server.backend}/api/users/walter", timeout=10)
        assert user.status_code == 200, user.text
    finally:
        server.stop()
    [moved] = set_aside(server.database)
    assert moved.read_bytes() == garbage
    lines = [line for line in server.log().splitlines() if "is not a DuckDB write-ahead log" in line]
    assert len(lines) == 1, server.log()[-2000:]
    assert "WARNING" in lines[0]
    assert moved.name in lines[0]
    assert "Traceback" not in server.log()
