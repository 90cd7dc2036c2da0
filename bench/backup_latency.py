"""Latency of both ports with and without an online backup, under real traffic.

``python -m bench.backup_latency [--prompts 100000] [--seconds 30] [--writes 10]``

Serves a copy of a generated database (``bench.generate``, cached) with ``python app.py``,
and runs wrk on both ports at once, each rotating over 1,000 prompt pages, while a writer
stars, unstars, edits and signs up at ``--writes`` a second all through. Rounds alternate:
without a backup, then with ``composite admin backup`` started two seconds in and the
round lasting until it is done. The table gives each port's p99 in both, their ratio (the
goal is at most 2), and the backup's own duration. One URL repeated would measure only the
response cache; the spread pages make the backup compete with real reads.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import generate, loadgen, setups, traffic, workloads

CONNECTIONS = 8  # per port
HEADING = "# Latency during an online backup (`python -m bench.backup_latency`, part of `make bench`)"
PORTS = {"api": ("backend", "api_get"), "site": ("frontend", "site_prompt")}


@dataclass
class Results:
    """Each round's figures per port, alone and during a backup, and the backups' seconds."""

    alone: list[dict[str, loadgen.Round]] = field(default_factory=list)
    during: list[dict[str, loadgen.Round]] = field(default_factory=list)
    backups: list[float] = field(default_factory=list)


def _backup(running: setups.Running, target: Path) -> tuple[float, str]:
    """Run ``composite admin backup`` against the running server; its seconds and report line."""
    socket_path = running.extra["admin_socket"]
    started = time.monotonic()
    result = subprocess.run(
        [setups.PYTHON, "-m", "composite", "admin", "--socket", socket_path, "backup", str(target)],
        cwd=setups.ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    line = (result.stdout or result.stderr).strip().splitlines()[-1:] or [""]
    if result.returncode != 0:
        raise RuntimeError(f"backup failed: {line[0]}")
    return time.monotonic() - started, line[0]


def _round(
    running: setups.Running, ids: list[int], seconds: float, backup: Path | None
) -> tuple[dict[str, loadgen.Round], float]:
    """Both ports under load for ``seconds``, with a backup two seconds in if ``backup`` is given."""
    took = 0.0
    runs = {
        name: loadgen.start(
            running.url(app), loadgen.Load(paths=traffic.paths(workload, ids)), seconds, CONNECTIONS
        )
        for name, (app, workload) in PORTS.items()
    }
    if backup is not None:
        time.sleep(2)
        took, line = _backup(running, backup)
        print(f"    {line}", flush=True)
    return {name: loadgen.finish(run) for name, run in runs.items()}, took


def _summary(got: dict[str, loadgen.Round]) -> str:
    return ", ".join(f"{name} p99 {r.p99_ms:.0f} ms, {r.rps:.0f} req/s" for name, r in got.items())


def measure(running: setups.Running, work: Path, ids: list[int], args: argparse.Namespace) -> Results:
    """Alternating rounds without and with a backup, the writer running all through."""
    backend = running.url("backend")
    token = workloads.api_token(backend)
    edited = traffic.own_prompt(backend, token)
    for app, workload in PORTS.values():  # what readers leave in the caches; round 1 is not cold
        traffic.warm(running.url(app), loadgen.Load(paths=traffic.paths(workload, ids)))
    seconds = args.seconds
    if not seconds:  # a first backup, unmeasured, tells how long a round must last
        took, _ = _backup(running, work / "probe.db")
        (work / "probe.db").unlink()
        seconds = took + 4
    print(f"{args.prompts:,} prompts, {args.writes:g} writes/s, rounds of {seconds:.0f} s", flush=True)
    results = Results()
    with traffic.Writer(backend, token, ids, edited, args.writes) as writer:
        for n in range(args.rounds):
            got, _ = _round(running, ids, seconds, None)
            results.alone.append(got)
            print(f"  round {n + 1} alone:  {_summary(got)}", flush=True)
            target = work / f"backup-{n}.db"
            got, took = _round(running, ids, seconds, target)
            target.unlink()
            results.during.append(got)
            results.backups.append(took)
            print(f"  round {n + 1} backup: {_summary(got)}", flush=True)
    print(f"  writer: {writer.achieved:.1f} writes/s committed, {writer.failed} failed {writer.last_failure}")
    return results


def table(results: Results) -> str:
    """The p99 of each port alone and during a backup, with their ratio."""
    lines = [
        "| port | p99 alone | p99 during a backup | ratio (goal ≤ 2) | req/s alone | req/s during |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name in PORTS:
        alone = statistics.median(r[name].p99_ms for r in results.alone)
        during = statistics.median(r[name].p99_ms for r in results.during)
        rps_alone = statistics.median(r[name].rps for r in results.alone)
        rps_during = statistics.median(r[name].rps for r in results.during)
        lines.append(
            f"| {name} | {alone:.0f} ms | {during:.0f} ms | {during / alone:.2f} |"
            f" {rps_alone:.0f} | {rps_during:.0f} |"
        )
    backup = statistics.median(results.backups)
    lines.append(f"\nbackup: {backup:.1f} s (median of {len(results.backups)})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure both ports' p99 without, then during, a backup, in alternating rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=0, help="round length (default: backup + 4 s)")
    parser.add_argument("--writes", type=float, default=10, help="writes a second all through")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of rounds")
    parser.add_argument("--uncached", action="store_true", help="RESPONSE_CACHE_MB=0: every read queries")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    try:
        loadgen.wrk_path()
    except loadgen.LoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    source = generate.cached_database(args.prompts)
    with tempfile.TemporaryDirectory(prefix="backup-latency-") as tmp:
        work = Path(tmp)
        database = generate.copy_database(source, work / "app.db")
        ids = workloads.public_ids(database, 1000)
        setup = setups.SETUPS["uncached" if args.uncached else "composite"]
        running = setups.start(setup, database, work / "logs")
        running.extra["admin_socket"] = str(database.with_suffix(".sock"))
        try:
            results = measure(running, work, ids, args)
        finally:
            running.stop()
    report = table(results)
    print()
    print(report)
    if args.out:
        caches = "caches off (RESPONSE_CACHE_MB=0)" if args.uncached else "caches on"
        about = (
            f"{args.prompts:,} generated prompts, {CONNECTIONS} connections per port rotating over 1,000"
            f" prompt pages, {args.writes:g} writes a second all through, {caches}, production mode."
        )
        args.out.write_text(f"{HEADING}\n\n{about}\n\n{report}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
