"""Search at one size: API latency on one connection, after writes too, and the index's size.

Usage: ``python -m bench.search [PROMPTS] [SECONDS]``. Measures, on a private copy of the
cached generated database served by the real composite:
- the bench's query mix read-only (wrk, one connection): p50 and p99, API and website;
- each query right after a write (one keep-alive connection): a write bumps the versions
  every cache is keyed by, so this is the search as computed, not as remembered, and it
  checks that the new prompt is found by the very next request;
- the size of the index tables (search_terms, search_vocab) in the database file.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

import duckdb

from bench import generate, loadgen, setups
from bench.workloads import QUERIES, api_token, load_for

INDEX_TABLES = ("search_terms", "search_vocab")


def index_size(database: Path) -> dict[str, float]:
    """MiB of the blocks holding each index table, and the postings count."""
    sizes: dict[str, float] = {}
    with duckdb.connect(str(database), read_only=True) as con:
        (block_size,) = con.execute("SELECT block_size FROM pragma_database_size()").fetchone() or (262144,)
        for table in INDEX_TABLES:
            (blocks,) = con.execute(
                f"SELECT count(DISTINCT block_id) FROM pragma_storage_info('{table}') WHERE block_id >= 0"
            ).fetchone() or (0,)
            sizes[f"{table}_mib"] = blocks * block_size / 2**20
        (postings,) = con.execute("SELECT count(*) FROM search_terms").fetchone() or (0,)
    sizes["postings"] = postings
    return sizes


def after_writes(url: str, token: str, rounds: int = 3) -> tuple[list[float], int]:
    """Latency of each query sent right after a write, and how many fresh prompts were missed."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    missed = 0
    for n in range(rounds * len(QUERIES)):
        marker = f"freshword{n}x"
        body = json.dumps(
            {
                "title": f"Fresh {marker}",
                "body": f"{marker} {QUERIES[n % len(QUERIES)]}",
                "visibility": "public",
            }
        )
        connection.request("POST", "/api/prompts", body=body, headers=headers)
        created = json.loads(connection.getresponse().read())
        started = time.perf_counter()
        connection.request("GET", f"/api/prompts?q={quote_plus(QUERIES[n % len(QUERIES)])}")
        connection.getresponse().read()
        latencies.append(1000 * (time.perf_counter() - started))
        connection.request("GET", f"/api/prompts?q={marker}")
        found = [item["id"] for item in json.loads(connection.getresponse().read())["items"]]
        missed += found != [created["id"]]
    connection.close()
    return latencies, missed


def main(argv: list[str]) -> int:
    """Measure search at one size and print the figures."""
    size = int(argv[0]) if argv else 10_000
    seconds = float(argv[1]) if len(argv) > 1 else 20
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    source = generate.cached_database(size)
    sizes = index_size(source)
    print(f"{size:,} prompts: {sizes['postings']:,} postings;", end=" ")
    print(", ".join(f"{t} {sizes[f'{t}_mib']:.0f} MiB" for t in INDEX_TABLES))
    database = generate.copy_database(source, work / "search.db")
    started = time.monotonic()
    running = setups.start(setups.SETUPS["composite"], database, work)
    print(f"started in {time.monotonic() - started:.1f} s")
    try:
        url = running.url("backend")
        load = load_for("api_search", [])
        loadgen.run(url, load, 3, 1)  # every query once: postings read, rankings kept
        for round_number in range(3):
            result = loadgen.run(url, load, seconds, 1)
            print(
                f"read-only round {round_number + 1}: p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
            )
        site = load_for("site_search", [])
        loadgen.run(running.url("frontend"), site, 3, 1)
        for round_number in range(2):
            result = loadgen.run(running.url("frontend"), site, seconds, 1)
            print(f"website round {round_number + 1}: p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms")
        latencies, missed = after_writes(url, api_token(url))
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, round(0.99 * len(latencies)))]
        p50 = statistics.median(latencies)
        print(f"after a write: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
        print(f"fresh prompts missed by the next request: {missed} of {len(latencies)}")
        status = Path(f"/proc/{running.process.pid}/status").read_text()
        memory = {
            line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")
        }
        print(f"server RSS {int(memory['VmRSS']) / 1024:.0f} MiB, peak {int(memory['VmHWM']) / 1024:.0f} MiB")
    finally:
        running.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
