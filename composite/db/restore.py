"""Restore a backup over the database file of a stopped server, checked first and reversible.

The backup (plain or zstd-compressed) is copied beside the live file under a temporary name
and checked there: it opens read-only, its schema is one this code knows, and every table
is counted. Only then is the live file opened: that takes DuckDB's file lock, so a running
server makes the restore refuse. The live file's sequences say which ids it has handed
out; the copy's sequences are moved past them, so an id acknowledged after the backup was
taken never names another row. The live file is closed (its WAL checkpointed into it),
renamed aside with a time stamp, and the copy renamed into its place.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from composite.db import Database, DatabaseError
from composite.db import schema as schema_versions
from composite.db.backup import BackupError, decompress_into, fsync_path, is_compressed, verify_backup

TEMPORARY_PREFIX = ".restore-"
_NEXTVAL = re.compile(r"nextval\('(?:[^'.]+\.)*\"?([^'\"]+)\"?'\)")


@dataclass(frozen=True)
class RestoreReport:
    """What a restore put in place and where the replaced file went."""

    database: Path
    rows: dict[str, int]
    kept: list[Path] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)  # the last id each has handed out
    pending: list[str] = field(default_factory=list)  # migrations the next start applies


def restore_database(backup: Path, live: Path, migrations: Path, release: str | None = None) -> RestoreReport:
    """Replace ``live`` by ``backup`` (checked first); the replaced file is kept beside it."""
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    live.parent.mkdir(parents=True, exist_ok=True)
    candidate = live.parent / f"{TEMPORARY_PREFIX}{live.name}.{secrets.token_hex(4)}"
    try:
        _place(backup, candidate)
        try:
            rows, pending = check_backup(candidate, migrations, release)
        except BackupError as exc:  # name the operator's file, not the copy being checked
            raise BackupError(str(exc).replace(str(candidate), str(backup))) from None
        handed_out = _handed_out(live) if live.exists() else {}
        sequences = _advance(candidate, handed_out)
        fsync_path(candidate)
        kept = _set_aside(live)
        os.rename(candidate, live)
        fsync_path(live.parent)
    finally:
        for leftover in (candidate, candidate.with_name(candidate.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return RestoreReport(live, rows, kept, sequences, pending)


def check_backup(path: Path, migrations: Path, release: str | None) -> tuple[dict[str, int], list[str]]:
    """Open a backup read-only: its schema must be known here; return its rows and pending migrations."""
    rows = verify_backup(path)
    if "schema_migrations" not in rows:
        raise BackupError(f"{path} holds no schema_migrations table: not a backup of this site")
    with duckdb.connect(str(path), read_only=True) as copy:
        plan = schema_versions.plan(copy, migrations)
    refusal = plan.refusal(path, release)
    if refusal:
        raise BackupError(refusal)
    return rows, plan.pending


def _place(backup: Path, candidate: Path) -> None:
    """Copy (or decompress) the backup to the candidate's name, with its WAL if it has one."""
    if is_compressed(backup):
        decompress_into(backup, candidate)
        return
    shutil.copyfile(backup, candidate)
    wal = backup.with_name(backup.name + ".wal")
    if wal.exists():  # a copy of a stopped server's file: its last commits may be in the WAL
        shutil.copyfile(wal, candidate.with_name(candidate.name + ".wal"))


def _handed_out(live: Path) -> dict[str, int]:
    """The highest id each sequence of the live file has given, by its value and its columns' ids.

    Opening it read-write takes DuckDB's lock: a running server makes this raise
    DatabaseLockedError, before anything has been replaced.
    """
    db = Database(live).open()
    try:
        return last_ids(db.cursor())
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot read the sequences of {live}: {exc}") from None
    finally:
        db.close()  # checkpoints: the file set aside holds every commit, and no WAL is left


def last_ids(cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per sequence, the highest value it has handed out or any column it fills holds."""
    found: dict[str, int] = {}
    for name, start, last in cursor.execute(
        "SELECT sequence_name, start_value, last_value FROM duckdb_sequences()"
        " WHERE database_name = current_database()"
    ).fetchall():
        found[name] = last if last is not None else start - 1
    for table, column, default in cursor.execute(
        "SELECT table_name, column_name, column_default FROM duckdb_columns()"
        " WHERE database_name = current_database() AND column_default LIKE 'nextval(%'"
    ).fetchall():
        match = _NEXTVAL.search(default)
        if match and match[1] in found:
            highest = cursor.execute(f'SELECT max("{column}") FROM "{table}"').fetchall()[0][0]
            if highest is not None:
                found[match[1]] = max(found[match[1]], int(highest))
    return found


def _advance(candidate: Path, handed_out: dict[str, int]) -> dict[str, int]:
    """Move the candidate's sequences past the live file's ids; return each one's last id."""
    db = Database(candidate).open()
    try:
        cursor = db.cursor()
        own = last_ids(cursor)
        for name, last in handed_out.items():
            if name in own and last > own[name]:
                cursor.execute("SELECT setval(?, ?)", [name, last]).fetchall()
                own[name] = last
        return own
    finally:
        db.close()


def _set_aside(live: Path) -> list[Path]:
    """Rename the live file (and a WAL still beside it) to ``NAME.before-restore-TIME``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = []
    for path in (live, live.with_name(live.name + ".wal")):
        if path.exists():
            target = live.with_name(f"{live.name}.before-restore-{stamp}{path.name[len(live.name) :]}")
            os.rename(path, target)
            kept.append(target)
    return kept
