"""A logical export: every table as Parquet with the schema as SQL, loadable by any DuckDB version.

A backup is a DuckDB database file, readable by the storage versions DuckDB reads. A dump
(``EXPORT DATABASE``) is SQL and Parquet, which a later DuckDB loads with ``IMPORT
DATABASE`` whatever its storage format: the way to carry a database across an upgrade of
DuckDB. The dump directory also holds ``manifest.json`` (rows per table, the migrations
and the release), which a load checks the new file against before it takes its name.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from composite.db import Database, DatabaseError
from composite.db import schema as schema_versions
from composite.db.backup import BackupError, fsync_path, verify_backup

MANIFEST = "manifest.json"
TEMPORARY_PREFIX = ".load-"


@dataclass(frozen=True)
class DumpReport:
    """What a dump or a load wrote: where, the rows per table, how long it took."""

    path: Path
    rows: dict[str, int]
    seconds: float
    pending: list[str] = field(default_factory=list)  # migrations the next start applies (load)


def dump_database(cursor: duckdb.DuckDBPyConnection, directory: Path, release: str | None) -> DumpReport:
    """Export the database on ``cursor`` to ``directory`` (new or empty) in one snapshot."""
    directory = directory.absolute()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BackupError(f"{directory} exists and is not an empty directory; choose a new one")
    if not directory.parent.is_dir():
        raise BackupError(f"directory {directory.parent} does not exist")
    started = time.perf_counter()
    try:
        cursor.execute("BEGIN TRANSACTION")
        try:
            rows = _rows(cursor)
            migrations = [m.name for m in schema_versions.recorded(cursor)]
            quoted = str(directory).replace("'", "''")
            cursor.execute(f"EXPORT DATABASE '{quoted}' (FORMAT parquet)")
        finally:
            cursor.execute("ROLLBACK")  # it only read
    except duckdb.Error as exc:
        raise BackupError(f"export failed: {exc}") from None
    manifest = {
        "release": release,
        "duckdb": duckdb.__version__,
        "migrations": migrations,
        "rows": rows,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for path in directory.iterdir():
        fsync_path(path)
    fsync_path(directory)
    return DumpReport(directory, rows, time.perf_counter() - started)


def load_database(directory: Path, target: Path, migrations: Path, release: str | None) -> DumpReport:
    """Import a dump into ``target``, a new database file, checked against the dump's manifest."""
    manifest = read_manifest(directory)
    if target.exists() and _has_tables(target):
        raise BackupError(f"{target} already holds a database; load into a new file")
    known = {int(f.name[:4]) for f in schema_versions.migration_files(migrations)}
    unknown = [name for name in manifest["migrations"] if int(name[:4]) not in known]
    if unknown:
        by = f" (dumped by release {manifest['release']})" if manifest.get("release") else ""
        this = f"release {release}" if release else "this code"
        raise BackupError(f"{directory} has migrations {this} does not know: {', '.join(unknown)}{by}")
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{TEMPORARY_PREFIX}{target.name}.{secrets.token_hex(4)}"
    try:
        db = Database(temporary).open()
        try:
            quoted = str(directory.absolute()).replace("'", "''")
            db.cursor().execute(f"IMPORT DATABASE '{quoted}'")
        except duckdb.Error as exc:
            raise BackupError(f"import failed: {exc}") from None
        finally:
            db.close()
        rows = verify_backup(temporary)
        if rows != manifest["rows"]:
            wanted = manifest["rows"]
            differ = sorted(n for n in set(rows) | set(wanted) if rows.get(n) != wanted.get(n))
            raise BackupError(f"the loaded file differs from the dump's manifest in {', '.join(differ)}")
        fsync_path(temporary)
        if target.exists():  # an empty database file: nothing in it to keep
            target.unlink()
        os.rename(temporary, target)
        fsync_path(target.parent)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)
    done = set(manifest["migrations"])
    pending = [f.name for f in schema_versions.migration_files(migrations) if f.name not in done]
    return DumpReport(target, rows, time.perf_counter() - started, pending)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest a dump wrote; BackupError if the directory is no dump."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{directory} is not a dump: it has no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"{directory / MANIFEST} cannot be read: {exc}") from None
    if not isinstance(manifest, dict) or not {"migrations", "rows"} <= manifest.keys():
        raise BackupError(f"{directory / MANIFEST} is not a dump's manifest")
    return manifest


def _rows(cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
    tables = cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND NOT temporary ORDER BY table_name"
    ).fetchall()
    return {name: cursor.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0] for (name,) in tables}


def _has_tables(path: Path) -> bool:
    """Whether an existing file is a database with any table (an empty file has none)."""
    if path.stat().st_size == 0:
        return False
    try:
        with duckdb.connect(str(path), read_only=True) as existing:
            return bool(existing.execute("SELECT count(*) FROM duckdb_tables()").fetchall()[0][0])
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseError(f"{path} is in use by another process: stop it first") from None
        return True  # not readable as a database: not ours to overwrite
    except duckdb.Error:
        return True
