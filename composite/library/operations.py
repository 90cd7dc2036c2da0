"""Operating the running site: backups (on demand and scheduled), database figures, uptime."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from composite.db import Database, first
from composite.db.backup import TEMPORARY_PREFIX, BackupError, BackupReport, backup_database
from composite.library.errors import Conflict

log = logging.getLogger("composite.db.backup")

# Scheduled backups are named by their UTC time, so names sort by age.
SCHEDULED_NAME = re.compile(r"^app-\d{8}T\d{6}Z\.db$")
# How stale the newest backup found in the directory may be in a health check's answer.
DIRECTORY_LIST_SECONDS = 1.0


class Operations:
    """What the operator asks of the process, and what it remembers: start time, last backup."""

    def __init__(self, db: Database, backup_dir: Path, keep: int = 7) -> None:
        self.db = db
        self.backup_dir = backup_dir
        self.keep = keep
        self.started = time.time()
        self.last_backup: BackupReport | None = None
        self.last_backup_at: float | None = None
        # One copy at a time: two would only compete for the disk.
        self._backup_lock = threading.Lock()
        self._newest_listed: float | None = None
        self._listed_at = -DIRECTORY_LIST_SECONDS

    def backup(self, target: Path) -> BackupReport:
        """Take one verified backup to ``target``; Conflict when one is already running."""
        if not self._backup_lock.acquire(blocking=False):
            raise Conflict("a backup is already running; try again when it has finished")
        try:
            if target.parent.absolute() == self.backup_dir.absolute():
                self.backup_dir.mkdir(parents=True, exist_ok=True)  # the data volume's own place
            report = backup_database(self.db, target)
        finally:
            self._backup_lock.release()
        self.last_backup, self.last_backup_at = report, time.time()
        log.info("backup %s: %d bytes in %.1fs", report.path, report.size_bytes, report.seconds)
        return report

    def scheduled_backup(self) -> BackupReport:
        """A backup into the backup directory under a time-stamped name; then keep the newest few."""
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        name = datetime.now(UTC).strftime("app-%Y%m%dT%H%M%SZ.db")
        report = self.backup(self.backup_dir / name)
        self.prune()
        return report

    def prune(self) -> list[Path]:
        """Delete scheduled backups beyond the newest ``keep``, and partial copies left by a crash."""
        removed: list[Path] = []
        files = sorted(p for p in self.backup_dir.iterdir() if SCHEDULED_NAME.match(p.name))
        for old in files[: max(0, len(files) - self.keep)]:
            old.unlink(missing_ok=True)
            removed.append(old)
        if not self._backup_lock.locked():  # a running backup's partial file is not debris
            for partial in self.backup_dir.glob(f"{TEMPORARY_PREFIX}*"):
                partial.unlink(missing_ok=True)
                removed.append(partial)
        return removed

    def newest_backup_age(self) -> float | None:
        """Seconds since the newest backup (this process's or one in the backup directory), or None."""
        times = [self.last_backup_at] if self.last_backup_at is not None else []
        found = self._newest_in_directory()
        times += [found] if found is not None else []
        return max(0.0, time.time() - max(times)) if times else None

    def _newest_in_directory(self) -> float | None:
        """The newest scheduled backup's mtime, listed at most once a second.

        Every health check reports the age; listing a directory that an operator may have
        filled with files on each of them would make a flood of checks cost that much.
        """
        now = time.monotonic()
        if now - self._listed_at >= DIRECTORY_LIST_SECONDS:
            times: list[float] = []
            if self.backup_dir.is_dir():
                for path in self.backup_dir.iterdir():
                    if SCHEDULED_NAME.match(path.name):
                        with suppress(OSError):  # pruned since it was listed
                            times.append(path.stat().st_mtime)
            self._newest_listed, self._listed_at = max(times, default=None), now
        return self._newest_listed

    def uptime(self) -> float:
        """Seconds since the process started serving."""
        return time.time() - self.started

    def file_sizes(self) -> dict[str, int]:
        """Bytes of the database file and of its write-ahead log (0 when there is none)."""
        path = self.db.path
        wal = path.with_name(path.name + ".wal")
        return {"file_bytes": _size(path), "wal_bytes": _size(wal)}

    def stats(self) -> dict[str, Any]:
        """Rows per table, file and WAL size, DuckDB's memory use, uptime and the last backup."""
        cursor = self.db.cursor()
        tables = [
            name
            for (name,) in cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
                " AND NOT temporary ORDER BY table_name"
            ).fetchall()
        ]
        rows = {name: first(cursor.execute(f'SELECT count(*) FROM "{name}"'))[0] for name in tables}  # type: ignore[index]
        memory = first(cursor.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory()"))
        age = self.newest_backup_age()
        return {
            "database": str(self.db.path),
            **self.file_sizes(),
            "memory_bytes": int(memory[0]) if memory else 0,
            "uptime_seconds": round(self.uptime(), 1),
            "last_backup_age_seconds": None if age is None else round(age, 1),
            "rows": rows,
        }

    def checkpoint(self) -> dict[str, int]:
        """Write the WAL into the database file; return the sizes after it."""
        try:
            self.db.cursor().execute("CHECKPOINT")
        except Exception as exc:  # DuckDB refuses while another transaction holds changes
            raise Conflict(f"checkpoint not possible now: {exc}") from None
        return self.file_sizes()


async def run_backup_schedule(operations: Operations, interval: float) -> None:
    """Every ``interval`` seconds, take a scheduled backup in a thread (runs until cancelled)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(operations.scheduled_backup)
        except (BackupError, Conflict, OSError) as exc:
            log.error("scheduled backup failed: %s", exc)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
