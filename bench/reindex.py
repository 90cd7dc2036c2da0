"""The search index rebuilt from the prompts' text, as the first start after a tokeniser change does.

Usage: ``python -m bench.reindex [PROMPTS] [DATABASE] [WORKERS]``. On a private copy of the cached
generated database (or of DATABASE), marks the index as written by another tokeniser, runs
``composite.library.reindex.catch_up`` through the server's own ``Database`` and prints a
table: wall and CPU time (this process and its workers), milliseconds a prompt and the
extrapolation to 1M prompts, peak memory, and fingerprints of the rebuilt rows, which two
runs (before and after a change to catch_up) must print alike.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from bench import generate
from composite.db import SERVER_QUERY_THREADS, Database
from composite.library import reindex

# Order-independent fingerprints of the index: a sum of row hashes and a count per table.
FINGERPRINTS = {
    "search_terms": "SELECT sum(hash(prompt_id, term, tf, doc_len, head)::HUGEINT), count(*)"
    " FROM search_terms",
    "search_vocab": "SELECT sum(hash(term, word, df, version)::HUGEINT), count(*) FROM search_vocab",
    "prompts.search_len": "SELECT sum(hash(id, search_len)::HUGEINT), count(*) FROM prompts",
}


def fingerprints(db: Database) -> dict[str, str]:
    """Each index table's row-hash sum and row count, as text."""
    found = {}
    for table, sql in FINGERPRINTS.items():
        total, count = db.fetchone(sql) or (0, 0)
        found[table] = f"{int(total or 0) % 2**64:016x} / {count:,} rows"
    return found


def rebuild(path: Path, workers: int | None = None) -> dict[str, object]:
    """Force and time one catch_up on the database at path."""
    db = Database(path, threads=SERVER_QUERY_THREADS).open()
    try:
        db.write(lambda cur: cur.execute("UPDATE search_state SET tokeniser = 'another'"))
        before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        prompts = reindex.catch_up(db, workers)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = [
            (a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime) for a, b in zip(after, before, strict=True)
        ]
        return {
            "prompts": prompts,
            "wall s": wall,
            "cpu s (this process)": cpu[0],
            "cpu s (workers)": cpu[1],
            "ms a prompt": 1000 * wall / max(prompts, 1),
            "1M prompts, min": wall / max(prompts, 1) * 1_000_000 / 60,
            # ru_maxrss is KiB on Linux; for children, the largest one's.
            "peak RSS MiB (this process)": after[0].ru_maxrss / 1024,
            "peak RSS MiB (largest worker)": after[1].ru_maxrss / 1024,
            "longest write-lock hold s": db.lock_holds.longest,
            **fingerprints(db),
        }
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """Print the rebuild's table for PROMPTS (default 100,000) generated prompts."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 100_000
    source = Path(args[1]) if len(args) > 1 and args[1] else generate.cached_database(n)
    workers = int(args[2]) if len(args) > 2 else None
    with tempfile.TemporaryDirectory(prefix="reindex-") as tmp:
        copy = generate.copy_database(source, Path(tmp) / "reindex.db")
        figures = rebuild(copy, workers)
    print(f"| catch_up over {source.name} | |\n|---|---|")
    for name, value in figures.items():
        shown = (
            f"{value:,.2f}" if isinstance(value, float) else f"{value:,}" if isinstance(value, int) else value
        )
        print(f"| {name} | {shown} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
