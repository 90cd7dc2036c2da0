"""Online backup of the shared database: a consistent, verified copy, taken while serving.

DuckDB lets no other process open the file while the server runs, so the server copies it
itself: ``COPY FROM DATABASE`` into a freshly attached file, inside one read transaction
(a snapshot: writers go on, and the copy holds exactly the transactions committed before it
began). Tables, sequences (with their current values) and indexes are copied. The copy is
written under a temporary name in the target directory, verified by opening it on its own
and counting the rows of every table, and only then renamed to its final name, so a partial
file never carries that name.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import zstandard

from composite.db import Database, first

TEMPORARY_PREFIX = ".backup-"  # partial copies; never the final name
# A target named NAME.zst is written compressed (scheduled backups are).
COMPRESSED_SUFFIX = ".zst"
COMPRESSION_LEVEL = 3
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class BackupError(RuntimeError):
    """The backup could not be made; the message is meant for the operator."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup wrote and how long it took."""

    path: Path
    size_bytes: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


def backup_database(db: Database, target: Path | str) -> BackupReport:
    """Copy the open database to ``target`` (a new file) consistently, verify it, then rename it."""
    target = Path(target).absolute()
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new name")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    if target.resolve() == db.path.resolve():
        raise BackupError("the backup cannot replace the live database")
    started = time.perf_counter()
    temporary = target.parent / f"{TEMPORARY_PREFIX}{target.name}.{secrets.token_hex(4)}"
    alias = f"backup_{secrets.token_hex(4)}"
    # A cursor of its own: the copy is one long transaction, not this thread's usual cursor.
    cursor = db.cursor().cursor()
    packed = temporary.with_name(temporary.name + COMPRESSED_SUFFIX)
    try:
        rows = _copy(cursor, alias, temporary)
        _verify(temporary, rows)
        if target.name.endswith(COMPRESSED_SUFFIX):
            compress_file(temporary, packed)
            temporary.unlink()
            os.rename(packed, target)
        else:
            fsync_path(temporary)
            os.rename(temporary, target)
        fsync_path(target.parent)
    except BaseException:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal"), packed):
            leftover.unlink(missing_ok=True)
        raise
    finally:
        cursor.close()
    return BackupReport(target, target.stat().st_size, time.perf_counter() - started, rows)


def _copy(cursor: duckdb.DuckDBPyConnection, alias: str, temporary: Path) -> dict[str, int]:
    """Copy every table in one snapshot; return the rows per table as that snapshot saw them."""
    source = first(cursor.execute("SELECT current_database()"))[0]  # type: ignore[index]
    cursor.execute(f"ATTACH '{_quoted(temporary)}' AS {alias}")
    try:
        cursor.execute("BEGIN TRANSACTION")
        try:
            tables = [
                name
                for (name,) in cursor.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary"
                    " ORDER BY table_name",
                    [source],
                ).fetchall()
            ]
            rows = {
                name: first(cursor.execute(f'SELECT count(*) FROM "{source}".main."{name}"'))[0]  # type: ignore[index]
                for name in tables
            }
            cursor.execute(f'COPY FROM DATABASE "{source}" TO {alias}')
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
    except duckdb.Error as exc:
        raise BackupError(f"copy failed: {exc}") from None
    finally:
        # Detaching checkpoints the copy into its file: no .wal is left beside it.
        cursor.execute(f"DETACH {alias}")
    return rows


def _verify(path: Path, expected: dict[str, int]) -> None:
    """Open the copy as a database of its own and check every table's row count."""
    try:
        copy = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"the copy does not open: {exc}") from None
    try:
        for name, count in expected.items():
            found = first(copy.execute(f'SELECT count(*) FROM "{name}"'))[0]  # type: ignore[index]
            if found != count:
                raise BackupError(f"the copy of {name} has {found} rows, expected {count}")
    finally:
        copy.close()


def verify_backup(path: Path | str) -> dict[str, int]:
    """Open a backup file read-only and return the rows of each table (for a restore's check)."""
    try:
        copy = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"{path} is not a readable database: {exc}") from None
    try:
        tables = [row[0] for row in copy.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return {name: first(copy.execute(f'SELECT count(*) FROM "{name}"'))[0] for name in tables}  # type: ignore[index]
    finally:
        copy.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def compress_file(source: Path, target: Path) -> None:
    """Write ``source`` zstd-compressed to ``target`` and flush it to disk."""
    # One thread at the default level: about 0.4 s per 100 MB, without taking a second core
    # from the requests being served meanwhile.
    compressor = zstandard.ZstdCompressor(level=COMPRESSION_LEVEL, write_checksum=True)
    with source.open("rb") as raw, target.open("wb") as out:
        compressor.copy_stream(raw, out, size=source.stat().st_size)
        out.flush()
        os.fsync(out.fileno())


def is_compressed(path: Path) -> bool:
    """Whether the file starts with zstd's frame magic number."""
    with path.open("rb") as file:
        return file.read(4) == ZSTD_MAGIC


def decompress_into(source: Path, target: Path) -> None:
    """Write the zstd file ``source`` decompressed to ``target``; BackupError if it is damaged."""
    stream = zstandard.ZstdDecompressor().decompressobj()
    try:
        with source.open("rb") as packed, target.open("wb") as out:
            while chunk := packed.read(1024 * 1024):
                out.write(stream.decompress(chunk))
    except zstandard.ZstdError as exc:
        raise BackupError(f"{source} does not decompress: {exc}") from None
    # A copy cut short (a transfer that stopped) decompresses without error up to its end.
    if not stream.eof:
        raise BackupError(f"{source} does not decompress: the file ends before its compressed data does")


def fsync_path(path: Path) -> None:
    """Flush a file (or a directory's entry list) to disk, so the rename survives a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
