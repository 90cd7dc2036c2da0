"""Imports at real size, in process: ``python -m bench.import_size [COUNT ...]``.

For each COUNT (default 1500) of realistic prompts (tests/support/corpus.py), imports the
JSON export and then the CSV form into fresh accounts of a fresh database opened as the
server opens it, and prints one row each: file size, seconds, the write lock's holds
(count, longest, all together) and how much the process's peak resident size grew.
The target (issue 14): 1,500 prompts, 4 MB, under 5 s, no hold over about 100 ms.
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from pathlib import Path

from composite.db import SERVER_QUERY_THREADS, Database
from composite.library import accounts, transfer
from composite.library.migrations import MIGRATIONS_DIR
from tests.support import corpus


def _measure(db: Database, username: str, data: bytes, kind: str) -> str:
    user = accounts.create_user(db, username, "password123")
    db.lock_holds.reset()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    result = transfer.import_file(db, user, io.BytesIO(data), kind)  # type: ignore[arg-type]
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    # The process's peak resident size grew by this much (0 when an earlier row peaked higher).
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    holds = db.lock_holds
    return (
        f"| {kind:4} | {len(result.items):6,} | {len(data) / 1e6:6.1f} MB | {took:6.2f} s ({cpu:5.2f} CPU) |"
        f" {holds.count:5} | {holds.longest * 1000:6.0f} ms ({holds.longest_cpu * 1000:3.0f} CPU) |"
        f" {holds.total:5.2f} s | {grown / 1e6:6.0f} MB |"
    )


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[1500])
    args = parser.parse_args()
    print("| file | prompts | size | took | holds | longest hold | held in all | peak RSS grew |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for count in args.counts:
        items = corpus.prompts(count)
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(Path(tmp) / "app.db", threads=SERVER_QUERY_THREADS).open()
            try:
                db.migrate(MIGRATIONS_DIR)
                print(_measure(db, "json", corpus.export_bytes(items), "json"), flush=True)
                print(_measure(db, "csv", corpus.csv_bytes(items), "csv"), flush=True)
            finally:
                db.close()


if __name__ == "__main__":
    main()
