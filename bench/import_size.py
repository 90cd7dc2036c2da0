"""Imports at real size: ``python -m bench.import_size [--http] [COUNT ...]``.

For each COUNT (default 1500) of realistic prompts (tests/support/corpus.py), imports the
JSON export and then the CSV form into fresh accounts of a fresh database, and prints one
row each: file size, seconds, the write lock's holds (count, longest, all together).

In process (the default), the database is opened as the server opens it and the row also
gives CPU time and how much the process's peak resident size grew. With ``--http`` each
file goes to ``POST /api/import`` of ``python app.py`` started for it, as a user sends it
(with a token), and the holds come from the server's metrics: what a user waits for,
upload and answer included. Targets: 1,500 prompts (4 MB) under 5 s (issue 14); 10,000
prompts (27 MB) within 30 s over HTTP (issue 25); no hold over about 100 ms.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import tempfile
import time
import urllib.request
from pathlib import Path

from bench import setups
from composite.db import SERVER_QUERY_THREADS, Database
from composite.library import accounts, transfer
from composite.library.migrations import MIGRATIONS_DIR
from tests.support import corpus

MEDIA_TYPES = {"json": "application/json", "csv": "text/csv"}


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


def _post(url: str, body: bytes, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(url, body, {"Accept": "application/json", **headers}, method="POST")
    with urllib.request.urlopen(request, timeout=900) as response:
        return json.loads(response.read())


def _measure_http(data: bytes, kind: str) -> str:
    """Import one file through a server started for it; the row, from the client and the server's metrics."""
    with tempfile.TemporaryDirectory() as tmp:
        running = setups.start(setups.SETUPS["composite"], Path(tmp) / "app.db", Path(tmp))
        try:
            api = f"{running.url('backend')}/api"
            account = {"username": "importer", "password": "password123"}
            _post(f"{api}/users", json.dumps(account).encode(), {"Content-Type": "application/json"})
            token = _post(f"{api}/tokens", json.dumps(account).encode(), {"Content-Type": "application/json"})
            before = running.scrape()
            started = time.perf_counter()
            auth = {"Content-Type": MEDIA_TYPES[kind], "Authorization": f"Bearer {token['token']}"}
            result = _post(f"{api}/import", data, auth)
            took = time.perf_counter() - started
            after = running.scrape()
        finally:
            running.stop()
    count = result["created"] + result["updated"] + result["unchanged"] + result["refused"]
    holds = _gauge(after, "composite_write_transactions") - _gauge(before, "composite_write_transactions")
    lock_key = "composite_write_lock_held_seconds"
    held = _gauge(after, lock_key) - _gauge(before, lock_key)
    longest = _gauge(after, "composite_write_lock_longest_hold_seconds")
    return (
        f"| {kind:4} | {count:6,} | {len(data) / 1e6:6.1f} MB | {took:6.2f} s |"
        f" {holds:5.0f} | {longest * 1000:6.0f} ms | {held:5.2f} s |"
    )


def _gauge(scraped: str, name: str) -> float:
    """A metric's value in a scrape, summed over its labels (0 if absent)."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in scraped.splitlines()
        if line.startswith(name) and line[len(name)] in " {"
    )


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[1500])
    parser.add_argument("--http", action="store_true", help="through POST /api/import of a started server")
    args = parser.parse_args()
    if args.http:
        print("| file | prompts | size | took (upload to answer) | holds | longest hold | held in all |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for count in args.counts:
            items = corpus.prompts(count)
            print(_measure_http(corpus.export_bytes(items), "json"), flush=True)
            print(_measure_http(corpus.csv_bytes(items), "csv"), flush=True)
        return
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
