"""Run the whole benchmark and write docs/performance.md with its chart.

``python -m bench.run`` (what ``make bench`` runs) measures every setup side by side,
round-robin so that a noisy neighbour hurts them alike, then start-up time, then the
growth study. ``--quick`` (``make bench BENCH_QUICK=1``) does the same in seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from bench import generate, loadgen, machine, report, search, setups
from bench.loadgen import Result
from bench.workloads import BOTH, GROWTH, WORKLOADS, api_token, load_for, public_ids, session_cookie

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Plan:
    """Durations, sizes and what to measure."""

    size: int = 10_000
    growth_sizes: tuple[int, ...] = (1_000, 10_000, 100_000, 1_000_000)
    warmup_s: float = 2
    round_s: float = 4
    rounds: int = 5
    connections: int = 32
    growth_round_s: float = 3
    growth_rounds: int = 3
    startup_runs: int = 5
    setups: tuple[str, ...] = tuple(setups.SETUPS)
    workloads: tuple[str, ...] = tuple(WORKLOADS)
    both: bool = True

    @classmethod
    def quick(cls) -> Plan:
        """A bounded smoke run: one short round of everything on a small database."""
        return cls(
            size=1_000,
            growth_sizes=(1_000,),
            warmup_s=1,
            round_s=1,
            rounds=1,
            connections=8,
            growth_round_s=1,
            growth_rounds=1,
            startup_runs=1,
        )


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def applicable(setup: setups.Setup, workload: str) -> bool:
    """Whether a setup serves a workload's app (and can take its writes, a login's included)."""
    spec = WORKLOADS[workload]
    return spec.app in setup.serves and not ((spec.writes or spec.account) and setup.read_only)


def measure(running: setups.Running, workload: str, load: loadgen.Load, plan: Plan, result: Result) -> None:
    """One round of one workload on one setup, adding its CPU time to the result."""
    before = running.sample().cpu_s
    result.rounds.append(
        loadgen.run(running.url(WORKLOADS[workload].app), load, plan.round_s, plan.connections)
    )
    result.cpu_s += running.sample().cpu_s - before


def both_at_once(backend: setups.Running, frontend: setups.Running, ids: list[int], plan: Plan) -> dict:
    """Load the API and the website at the same time; each side's results."""
    api, site = Result(), Result()
    loads = (load_for(BOTH[0], ids), load_for(BOTH[1], ids))
    for round_index in range(plan.rounds + 1):
        seconds = plan.warmup_s if round_index == 0 else plan.round_s
        cpu_before = backend.sample().cpu_s + (frontend.sample().cpu_s if frontend is not backend else 0)
        procs = [
            loadgen.start(backend.url("backend"), loads[0], seconds, plan.connections),
            loadgen.start(frontend.url("frontend"), loads[1], seconds, plan.connections),
        ]
        rounds = [loadgen.finish(p) for p in procs]
        if round_index == 0:
            continue  # warm-up
        cpu_after = backend.sample().cpu_s + (frontend.sample().cpu_s if frontend is not backend else 0)
        api.rounds.append(rounds[0])
        site.rounds.append(rounds[1])
        api.cpu_s += (cpu_after - cpu_before) / 2
        site.cpu_s += (cpu_after - cpu_before) / 2
    return {"api": api, "site": site}


def start_all(plan: Plan, source: Path, work: Path, out: dict) -> dict[str, setups.Running]:
    """Start every setup on its own copy of the database; record start-up and memory at rest."""
    running: dict[str, setups.Running] = {}
    try:
        for name in plan.setups:
            setup = setups.SETUPS[name]
            database = generate.copy_database(source, work / f"{name}.db")
            running[name] = setups.start(setup, database, work / "logs")
            time.sleep(1)  # let start-up allocations settle before reading memory at rest
            rest = running[name].sample()
            startup = running[name].startup_s
            out["setups"][name] = {"label": setup.label, "rest": asdict(rest), "startup_s": startup}
            log(f"{name}: ready in {startup:.2f} s, {rest.rss_mib:.0f} MiB at rest")
    except BaseException:
        for run in running.values():
            run.stop()
        raise
    return running


def credentials(running: dict[str, setups.Running]) -> tuple[dict[str, str], dict[str, str]]:
    """An API token and a logged-in session cookie of the bench user, per setup that can write."""
    tokens, cookies = {}, {}
    for name, run in running.items():
        if "backend" in run.setup.serves:
            tokens[name] = api_token(run.url("backend"))
        if "frontend" in run.setup.serves and not run.setup.read_only:
            cookies[name] = session_cookie(run.url("frontend"))
    return tokens, cookies


def cache_stats(metrics: str) -> dict[str, dict[str, float]]:
    """The response cache's counters per app from a Prometheus scrape: {app: {hits: ..., bytes: ...}}."""
    stats: dict[str, dict[str, float]] = {}
    for line in metrics.splitlines():
        if not line.startswith("composite_response_cache_"):
            continue
        name, _, value = line.rpartition(" ")
        stat, _, labels = name.removeprefix("composite_response_cache_").partition("{")
        app = labels.split('app="', 1)[1].split('"', 1)[0] if 'app="' in labels else ""
        stats.setdefault(app, {})[stat] = float(value)
    return stats


def run_workload(
    plan: Plan, running: dict[str, setups.Running], workload: str, ids: list[int], auth: tuple[dict, dict]
) -> dict:
    """One workload on every setup that serves it: a warm-up each, then rounds taken in turn."""
    tokens, cookies = auth
    targets = [n for n in running if applicable(running[n].setup, workload)]
    loads = {n: load_for(workload, ids, tokens.get(n), cookies.get(n)) for n in targets}
    results = {n: Result() for n in targets}
    for n in targets:  # warm-up, not counted
        loadgen.run(running[n].url(WORKLOADS[workload].app), loads[n], plan.warmup_s, plan.connections)
    for round_index in range(plan.rounds):
        # Alternate the order so that no setup always runs right after another one's load.
        for n in targets if round_index % 2 == 0 else reversed(targets):
            measure(running[n], workload, loads[n], plan, results[n])
    for n, result in results.items():
        summary = f"{result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, errors {result.errors}"
        log(f"{workload} on {n}: {summary}")
    return results


def compare_setups(plan: Plan, source: Path, work: Path) -> dict:
    """Every setup on its own copy of the database, every workload round-robin across setups."""
    ids = public_ids(source)
    out: dict = {"setups": {}, "results": {}, "both": {}}
    running = start_all(plan, source, work, out)
    try:
        auth = credentials(running)
        # Writes last: the composite's website reads the database its API wrote to, and
        # waitress's copy never sees those writes, so reading after them would not compare alike.
        reads = [w for w in plan.workloads if not WORKLOADS[w].writes]
        for workload in reads:
            if results := run_workload(plan, running, workload, ids, auth):
                out["results"][workload] = results
        if plan.both and "composite" in running:
            out["both"]["composite"] = both_at_once(running["composite"], running["composite"], ids, plan)
            if "backend" in running and "waitress" in running:
                out["both"]["split"] = both_at_once(running["backend"], running["waitress"], ids, plan)
            for kind, sides in out["both"].items():
                api, site = sides["api"], sides["site"]
                log(f"both ports ({kind}): api p99 {api.p99_ms:.1f} ms, site {site.rps:.0f} req/s")
        for workload in [w for w in plan.workloads if WORKLOADS[w].writes]:
            if results := run_workload(plan, running, workload, ids, auth):
                out["results"][workload] = results
        for name, run in running.items():
            out["setups"][name]["after"] = asdict(run.sample())
            if run.setup.metrics:
                out["setups"][name]["cache"] = cache_stats(run.scrape())
    finally:
        for run in running.values():
            run.stop()
    return out


def startup_times(plan: Plan, source: Path, work: Path) -> list[float]:
    """Seconds from spawning ``python app.py`` to both ports answering, on an existing database."""
    database = generate.copy_database(source, work / "startup.db")
    times = []
    for _ in range(plan.startup_runs):
        running = setups.start(setups.SETUPS["composite"], database, work / "logs")
        times.append(running.startup_s)
        running.stop()
    return times


def growth(plan: Plan, work: Path) -> dict:
    """Latency of search, list, tag and prompt pages as the library grows, then search after writes.

    The composite runs with its response cache off (the "uncached" setup): the mix repeats
    a few queries on one connection, so the cache would answer nearly all of them and this
    would measure the cache. Search's own kept rankings stay on; the writes at the end make
    each query rank afresh.
    """
    out: dict = {}
    for size in plan.growth_sizes:
        source = generate.cached_database(size, log)
        ids = public_ids(source)
        database = generate.copy_database(source, work / f"growth-{size}.db")
        running = setups.start(setups.SETUPS["uncached"], database, work / "logs")
        try:
            time.sleep(1)
            rest = running.sample()
            row: dict = {"startup_s": running.startup_s, "rest": asdict(rest), "latency": {}}
            for measure_name, (app, _label) in GROWTH.items():
                load = load_for(measure_name, ids)
                url = running.url(app)
                loadgen.run(url, load, plan.warmup_s, 1)
                result = Result(
                    rounds=[loadgen.run(url, load, plan.growth_round_s, 1) for _ in range(plan.growth_rounds)]
                )
                row["latency"][measure_name] = result
            url = running.url("backend")
            latencies, missed = search.after_writes(url, api_token(url), rounds=plan.growth_rounds)
            row["after_write"] = {
                "p50_ms": _percentile(latencies, 0.5),
                "p99_ms": _percentile(latencies, 0.99),
                "writes": len(latencies),
                "missed": missed,
            }
            row["after"] = asdict(running.sample())
        finally:
            running.stop()
        row["file_mib"] = sum(p.stat().st_size for p in source.parent.glob(source.name + "*")) / 2**20
        row["index"] = search.index_size(source)
        for copy in work.glob(f"growth-{size}.db*"):
            copy.unlink()
        out[size] = row
        latency = ", ".join(f"{k} {v.p50_ms:.1f} ms" for k, v in row["latency"].items())
        sizes = f"{row['file_mib']:.0f} MiB file, {row['after']['rss_mib']:.0f} MiB RSS"
        log(f"{size:,} prompts: {latency}; {sizes}")
    return out


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def parse_plan(argv: list[str] | None) -> tuple[Plan, Path]:
    """The plan and the report's path from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny durations: a smoke run of the harness")
    parser.add_argument("--setups", help="comma-separated subset of: " + ",".join(setups.SETUPS))
    parser.add_argument("--workloads", help="comma-separated subset of: " + ",".join(WORKLOADS))
    parser.add_argument("--sizes", help="growth study sizes, comma-separated ('' for none)")
    parser.add_argument("--startup-runs", type=int, help="start-up timings of the composite (0 for none)")
    parser.add_argument("--rounds", type=int, help="rounds per workload and setup")
    parser.add_argument("--seconds", type=float, help="seconds per round")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args(argv)

    plan = Plan.quick() if args.quick else Plan()
    if args.setups:
        plan = replace(plan, setups=tuple(args.setups.split(",")))
    if args.workloads:
        plan = replace(plan, workloads=tuple(args.workloads.split(",")), both=False)
    if args.sizes is not None:
        plan = replace(plan, growth_sizes=tuple(int(s) for s in args.sizes.split(",") if s))
    if args.startup_runs is not None:
        plan = replace(plan, startup_runs=args.startup_runs)
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    if args.seconds:
        plan = replace(plan, round_s=args.seconds)
    return plan, args.out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report."""
    plan, out = parse_plan(argv)
    loadgen.wrk_path()
    started = time.monotonic()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    work = RESULTS / stamp
    source = generate.cached_database(plan.size, log)
    data = {"plan": asdict(plan), "machine": machine.describe(), "started": stamp}
    data |= compare_setups(plan, source, work)
    wanted = "composite" in plan.setups and plan.startup_runs > 0
    data["startup"] = startup_times(plan, source, work) if wanted else []
    data["growth"] = growth(plan, work)
    data["elapsed_s"] = time.monotonic() - started
    report.write(data, out)
    (work / "results.json").write_text(json.dumps(report.plain(data), indent=1, default=str))
    for copy in work.glob("*.db*"):
        copy.unlink()
    log(f"wrote {out} in {data['elapsed_s'] / 60:.1f} min (raw results in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
