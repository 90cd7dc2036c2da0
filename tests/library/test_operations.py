"""Scheduled backups, their pruning and age, and the operating settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from composite.config import ConfigError, Settings
from composite.db import Database
from composite.db.backup import TEMPORARY_PREFIX, decompress_into, is_compressed, verify_backup
from composite.library.operations import Operations, run_after_backup, run_backup_schedule


def test_scheduled_backups_keep_the_newest_and_sweep_partial_copies(db: Database, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    operations = Operations(db, backups, keep=2)
    assert operations.newest_backup_age() is None
    backups.mkdir()
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (backups / f"app-{stamp}.db").write_bytes(b"old")
    (backups / f"{TEMPORARY_PREFIX}app.db.dead").write_bytes(b"partial")
    (backups / "hand-made.db").write_bytes(b"not ours")
    report = operations.scheduled_backup()
    names = sorted(p.name for p in backups.iterdir())
    assert names == sorted([report.path.name, "app-20260103T000000Z.db", "hand-made.db"])
    assert report.rows["users"] == 0
    age = operations.newest_backup_age()
    assert age is not None
    assert age < 60


def test_the_schedule_backs_up_every_interval_until_cancelled(db: Database, tmp_path: Path) -> None:
    operations = Operations(db, tmp_path / "backups", keep=1)

    async def run_briefly() -> None:
        task = asyncio.create_task(run_backup_schedule(operations, 0.2))
        while operations.last_backup is None:
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(run_briefly(), 60))
    assert len(list((tmp_path / "backups").glob("app-*.db.zst"))) == 1


def test_scheduled_backups_are_compressed_and_restore_as_they_were(db: Database, tmp_path: Path) -> None:
    db.write(lambda cur: cur.execute("INSERT INTO login_failures VALUES ('x', now())"))
    report = Operations(db, tmp_path / "backups").scheduled_backup()
    assert report.path.name.endswith(".db.zst")
    assert is_compressed(report.path)
    plain = tmp_path / "plain.db"
    decompress_into(report.path, plain)
    assert report.size_bytes == report.path.stat().st_size < plain.stat().st_size / 4
    assert verify_backup(plain) == report.rows
    assert report.rows["login_failures"] == 1


def test_keep_by_count_or_by_age(db: Database, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    now = datetime(2026, 3, 31, tzinfo=UTC)
    stamps = [now - timedelta(days=d) for d in (40, 20, 9, 3, 1)]
    for stamp in stamps:
        (backups / f"app-{stamp:%Y%m%dT%H%M%SZ}.db.zst").write_bytes(b"old")
    (backups / "app-20260101T000000Z.db").write_bytes(b"uncompressed, from an earlier release")
    operations = Operations(db, backups, keep=2, keep_days=10)
    removed = operations.prune(now=now.timestamp())
    # The newest two by count, and the one 9 days old by age; 20 and 40 days, and January, go.
    assert sorted(p.name for p in removed) == sorted(
        ["app-20260101T000000Z.db"] + [f"app-{s:%Y%m%dT%H%M%SZ}.db.zst" for s in stamps[:2]]
    )
    assert len(list(backups.iterdir())) == 3


def test_backup_after_runs_without_a_shell_and_logs_failures(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = tmp_path / "a file; rm -rf nothing"
    made.write_bytes(b"backup")
    copies = tmp_path / "off-host"
    copies.mkdir()
    assert run_after_backup(("cp", "{path}", str(copies)), made, timeout=30)
    assert (copies / made.name).read_bytes() == b"backup"  # one argument, spaces and ; included
    with caplog.at_level(logging.ERROR, "composite.db.backup"):
        assert not run_after_backup((sys.executable, "-c", "import sys; sys.exit('no remote')"), made, 30)
        assert not run_after_backup(("no-such-command-anywhere", "{path}"), made, 30)
        assert not run_after_backup((sys.executable, "-c", "import time; time.sleep(30)"), made, 0.5)
    messages = [r.getMessage() for r in caplog.records]
    assert "exited with 1: no remote" in messages[0]
    assert "cannot run no-such-command-anywhere" in messages[1]
    assert "still running after 0.5s, stopped" in messages[2]


def test_operating_settings_from_the_environment(tmp_path: Path) -> None:
    base = {"DATABASE_PATH": str(tmp_path / "d" / "app.db")}
    settings = Settings.from_env(base, None)
    assert settings.admin_socket == tmp_path / "d" / "app.db.admin.sock"
    assert settings.backup_dir == tmp_path / "d" / "backups"
    assert (settings.backup_interval, settings.metrics_port, settings.log_format) == (0, 0, "text")
    assert Settings.from_env({**base, "ADMIN_SOCKET": ""}, None).admin_socket is None
    assert Settings.from_env({**base, "ADMIN_SOCKET": "/run/a.sock"}, None).admin_socket == Path(
        "/run/a.sock"
    )
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        Settings.from_env({**base, "LOG_FORMAT": "xml"}, None)
    with pytest.raises(ConfigError, match="METRICS_PORT"):
        Settings.from_env({**base, "METRICS_PORT": "12000"}, None)
    with pytest.raises(ConfigError, match="BACKUP_KEEP"):
        Settings.from_env({**base, "BACKUP_KEEP": "0"}, None)
    assert (settings.backup_keep_days, settings.backup_after, settings.backup_after_timeout) == (0, (), 600)
    chosen = Settings.from_env(
        {**base, "BACKUP_KEEP_DAYS": "30", "BACKUP_AFTER": "rclone copy '{path}' remote:backups"}, None
    )
    assert chosen.backup_keep_days == 30
    assert chosen.backup_after == ("rclone", "copy", "{path}", "remote:backups")
    with pytest.raises(ConfigError, match="BACKUP_AFTER: must be a command line"):
        Settings.from_env({**base, "BACKUP_AFTER": "rclone 'unclosed"}, None)
    with pytest.raises(ConfigError, match="BACKUP_KEEP_DAYS"):
        Settings.from_env({**base, "BACKUP_KEEP_DAYS": "-1"}, None)
