"""Scheduled backups, their pruning and age, and the operating settings."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from composite.config import ConfigError, Settings
from composite.db import Database
from composite.db.backup import TEMPORARY_PREFIX
from composite.library.operations import Operations, run_backup_schedule


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
    assert len(list((tmp_path / "backups").glob("app-*.db"))) == 1


def test_operating_settings_from_the_environment(tmp_path: Path) -> None:
    base = {"DATABASE_PATH": str(tmp_path / "d" / "app.db")}
    settings = Settings.from_env(base, None)
    assert settings.admin_socket == tmp_path / "d" / "admin.sock"
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
