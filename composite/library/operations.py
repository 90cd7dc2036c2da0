"""Operating the running site: backups (on demand and scheduled), database figures, uptime."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from composite import __version__
from composite.db import Database, DatabaseError, first
from composite.db.backup import (
    COMPRESSED_SUFFIX,
    TEMPORARY_PREFIX,
    BackupError,
    BackupReport,
    backup_database,
)
from composite.db.dump import DumpReport, dump_database
from composite.library.errors import Conflict

log = logging.getLogger("composite.db.backup")

# Scheduled backups are named by their UTC time, so names sort by age (and tell it after a copy
# that kept no mtime); earlier releases wrote them uncompressed.
SCHEDULED_NAME = re.compile(r"^app-(\d{8}T\d{6}Z)\.db(\.zst)?$")
SCHEDULED_STAMP = "%Y%m%dT%H%M%SZ"
# How stale the newest backup found in the directory may be in a health check's answer.
DIRECTORY_LIST_SECONDS = 1.0


class Operations:
    """What the operator asks of the process, and what it remembers: start time, last backup."""

    def __init__(
        self,
        db: Database,
        backup_dir: Path,
        keep: int = 7,
        keep_days: float = 0.0,
        after: tuple[str, ...] = (),
        after_timeout: float = 600.0,
    ) -> None:
        self.db = db
        self.backup_dir = backup_dir
        # A scheduled backup is kept while it is among the newest ``keep`` or younger than
        # ``keep_days`` (0: count alone).
        self.keep = keep
        self.keep_days = keep_days
        # The command run after each scheduled backup, its arguments with {path} in them.
        self.after = after
        self.after_timeout = after_timeout
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
        name = f"app-{datetime.now(UTC).strftime(SCHEDULED_STAMP)}.db{COMPRESSED_SUFFIX}"
        report = self.backup(self.backup_dir / name)
        self.prune()
        if self.after:
            run_after_backup(self.after, report.path, self.after_timeout)
        return report

    def prune(self, now: float | None = None) -> list[Path]:
        """Delete scheduled backups past the newest ``keep`` and ``keep_days`` old, and partial copies."""
        removed: list[Path] = []
        now = time.time() if now is None else now
        files = sorted(p for p in self.backup_dir.iterdir() if SCHEDULED_NAME.match(p.name))
        for old in files[: max(0, len(files) - self.keep)]:
            if self.keep_days and now - _taken_at(old) < self.keep_days * 86400:
                continue
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

    def dump(self, directory: Path) -> DumpReport:
        """Export every table as Parquet to a new directory (one snapshot); Conflict while a backup runs."""
        if not self._backup_lock.acquire(blocking=False):
            raise Conflict("a backup or dump is already running; try again when it has finished")
        # A cursor of its own: the export is one long read transaction.
        cursor = self.db.cursor().cursor()
        try:
            report = dump_database(cursor, directory, __version__)
        finally:
            cursor.close()
            self._backup_lock.release()
        log.info("dump %s: %d tables in %.1fs", report.path, len(report.rows), report.seconds)
        return report

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
            self.db.checkpoint()
        except DatabaseError:  # a full disk (507) or an invalidated database: said as it is
            raise
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


def run_after_backup(command: tuple[str, ...], path: Path, timeout: float) -> bool:
    """Run BACKUP_AFTER for a new backup, without a shell; log a failure; return whether it succeeded."""
    argv = [part.replace("{path}", str(path)) for part in command]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        log.error("BACKUP_AFTER for %s: still running after %gs, stopped", path, timeout)
        return False
    except OSError as exc:
        log.error("BACKUP_AFTER for %s: cannot run %s: %s", path, argv[0], exc.strerror or exc)
        return False
    if done.returncode != 0:
        said = " ".join(done.stderr.split())[-500:]  # the end of it: where tools say what went wrong
        log.error("BACKUP_AFTER for %s: %s exited with %d: %s", path, argv[0], done.returncode, said)
        return False
    log.info("BACKUP_AFTER for %s: done", path)
    return True


def _taken_at(path: Path) -> float:
    """When a scheduled backup was taken, from its name."""
    match = SCHEDULED_NAME.match(path.name)
    assert match is not None
    return datetime.strptime(match[1], SCHEDULED_STAMP).replace(tzinfo=UTC).timestamp()


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
