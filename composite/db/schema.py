"""Schema versions: which numbered migrations a database holds, and which release wrote them.

A database records every migration it has had in ``schema_migrations`` and, from release
1.0.0 on, the release that applied each one and every release that has opened it. Code that
finds a recorded migration it has no file for is older than the database: it refuses to
start rather than serve a schema it does not know. The check needs nothing but
``schema_migrations``, so an earlier release can take it over in a few lines (see
``unknown_migrations``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
)
# Added beside the columns every release writes, so an earlier release's INSERT still fits.
_ADD_RELEASE = "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS release TEXT"
_CREATE_RELEASES = (
    "CREATE TABLE IF NOT EXISTS schema_releases ("
    " release TEXT PRIMARY KEY,"
    " first_opened TIMESTAMP NOT NULL DEFAULT current_timestamp,"
    " last_opened TIMESTAMP NOT NULL DEFAULT current_timestamp)"
)


class SchemaError(RuntimeError):
    """The database's schema is newer than this code; the message is one line for the operator."""


@dataclass(frozen=True)
class Recorded:
    """One migration a database holds: its number, file name and the release that applied it."""

    version: int
    name: str
    release: str | None


@dataclass(frozen=True)
class Plan:
    """What migrating a database would do: the files still to apply and any it does not know."""

    pending: list[str]
    unknown: list[Recorded]
    releases: list[str]  # releases that have opened the database, oldest first

    def refusal(self, database: object, release: str | None) -> str | None:
        """The one line refusing this database, or None when this code may open it."""
        if not self.unknown:
            return None
        writers = sorted({m.release for m in self.unknown if m.release})
        names = ", ".join(m.name for m in self.unknown)
        by = f" (applied by release {', '.join(writers)})" if writers else ""
        this = f"release {release}" if release else "this code"
        return (
            f"database {database} has migrations {this} does not know: {names}{by}; "
            "run that release or a newer one, or restore a backup taken before it"
        )


def migration_files(directory: Path) -> list[Path]:
    """The numbered .sql files of ``directory``, in the order they apply."""
    return sorted(p for p in directory.iterdir() if MIGRATION_NAME.match(p.name))


def recorded(cursor: duckdb.DuckDBPyConnection) -> list[Recorded]:
    """The migrations a database has recorded, oldest first (none for a new database)."""
    columns = {
        name
        for (name,) in cursor.execute(
            "SELECT column_name FROM duckdb_columns()"
            " WHERE database_name = current_database() AND table_name = 'schema_migrations'"
        ).fetchall()
    }
    if not columns:
        return []
    release = "release" if "release" in columns else "NULL"
    rows = cursor.execute(f"SELECT version, name, {release} FROM schema_migrations ORDER BY version")
    return [Recorded(*row) for row in rows.fetchall()]


def releases(cursor: duckdb.DuckDBPyConnection) -> list[str]:
    """The releases that have opened a database, in the order they first did."""
    found = cursor.execute(
        "SELECT count(*) FROM duckdb_tables()"
        " WHERE database_name = current_database() AND table_name = 'schema_releases'"
    ).fetchall()
    if not found[0][0]:
        return []
    rows = cursor.execute("SELECT release FROM schema_releases ORDER BY first_opened, release").fetchall()
    return [release for (release,) in rows]


def unknown_migrations(done: list[Recorded], files: list[Path]) -> list[Recorded]:
    """Recorded migrations with no file here: the database is newer than this code.

    This is the whole check; an earlier release backports it as::

        known = {int(f.name[:4]) for f in files}
        unknown = [v for (v,) in cursor.execute("SELECT version FROM schema_migrations") if v not in known]
        if unknown: raise SystemExit(f"database has migrations this release does not know: {unknown}")
    """
    known = {int(f.name[:4]) for f in files}
    return [m for m in done if m.version not in known]


def plan(cursor: duckdb.DuckDBPyConnection, directory: Path) -> Plan:
    """What migrating the database on ``cursor`` with the files of ``directory`` would do."""
    files = migration_files(directory)
    done = recorded(cursor)
    applied = {m.version for m in done}
    pending = [f.name for f in files if int(f.name[:4]) not in applied]
    return Plan(pending, unknown_migrations(done, files), releases(cursor))


def apply(cursor: duckdb.DuckDBPyConnection, directory: Path, release: str | None) -> list[str]:
    """Inside an open transaction: refuse a newer database, apply what is pending, record the release."""
    cursor.execute(_CREATE_MIGRATIONS)
    cursor.execute(_ADD_RELEASE)
    cursor.execute(_CREATE_RELEASES)
    todo = plan(cursor, directory)
    refusal = todo.refusal(_database_file(cursor), release)
    if refusal:
        raise SchemaError(refusal)
    for name in todo.pending:
        cursor.execute((directory / name).read_text(encoding="utf-8"))
        cursor.execute(
            "INSERT INTO schema_migrations (version, name, release) VALUES (?, ?, ?)",
            [int(name[:4]), name, release],
        )
    if release:
        cursor.execute(
            "INSERT INTO schema_releases (release) VALUES (?)"
            " ON CONFLICT (release) DO UPDATE SET last_opened = excluded.last_opened",
            [release],
        )
    return todo.pending


def _database_file(cursor: duckdb.DuckDBPyConnection) -> str:
    rows = cursor.execute(
        "SELECT coalesce(path, database_name) FROM duckdb_databases()"
        " WHERE database_name = current_database()"
    ).fetchall()
    return str(rows[0][0]) if rows else "the database"
