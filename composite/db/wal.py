"""A write-ahead log that is not DuckDB's, found beside the database, is set aside with a warning.

DuckDB replays ``NAME.wal`` when it opens ``NAME``. A file there that it cannot read (a
copy gone wrong, another program's file, a disk error) it skips without a word: the
database opens as of its last checkpoint, and the first write overwrites the file.
Commits that file may have held would be lost silently. So before opening, a log that does
not begin as DuckDB's do is moved to ``NAME.wal.corrupt-<UTC time>`` for the operator to
inspect, and the operator is told. A log that begins well and ends torn (a crash in the
middle of a write) is DuckDB's normal case: it replays every whole commit and is left alone.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("composite.db")

# Every log DuckDB writes starts with its WAL_VERSION entry: field 100 (two bytes, little
# endian) holding the entry type 98, in DuckDB's binary serialisation.
WAL_START = b"\x64\x00\x62"
CORRUPT_SUFFIX = ".corrupt-"


def wal_path(database: Path) -> Path:
    """Where DuckDB keeps the write-ahead log of ``database``."""
    return database.with_name(database.name + ".wal")


def set_aside_unreadable_wal(database: Path) -> Path | None:
    """Move a log beside ``database`` that is not DuckDB's out of the way; return where it went."""
    wal = wal_path(database)
    try:
        with wal.open("rb") as file:
            start = file.read(len(WAL_START))
    except FileNotFoundError:
        return None
    if not start or start == WAL_START:  # empty, or DuckDB's (torn or not): replayed as it is
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = wal.with_name(f"{wal.name}{CORRUPT_SUFFIX}{stamp}")
    os.replace(wal, aside)
    log.warning(
        "%s is not a DuckDB write-ahead log (it starts %s); moved to %s and opened %s as of its"
        " last checkpoint. Commits after that checkpoint, if that file held any, are not in the"
        " database: keep the moved file for inspection",
        wal,
        start.hex(),
        aside.name,
        database,
    )
    return aside
