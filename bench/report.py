"""Turn a run's results into docs/performance.md: targets as ratios, a table per workload.

``python -m bench.report RESULTS_JSON [OUT]`` writes the page again from a saved run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import chart
from bench.loadgen import Result, Round
from bench.setups import SETUPS
from bench.workloads import BOTH, FLOOR_OF, GROWTH, WORKLOADS

NOTES = Path(__file__).with_name("notes.md")
API = ("api_health", "api_list", "api_get", "api_search", "api_create")
SITE = ("site_home", "site_home_user", "site_prompt", "site_search")
# The goals: the composite's req/s as a share of its framework's floor, in the same run.
GOALS = {
    "site_home": 0.40,
    "site_home_user": 0.25,
    "site_prompt": 0.40,
    "site_search": 0.20,
    "api_list": 0.40,
    "api_get": 0.50,
    "api_search": 0.20,
    "api_create": 0.10,
    "api_health": None,  # reported, no goal
}


def plain(value: Any) -> Any:
    """Results as JSON-ready data."""
    if isinstance(value, Result):
        return {**asdict(value), "rps": value.rps, "p50_ms": value.p50_ms, "p99_ms": value.p99_ms}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def revive(value: Any) -> Any:
    """The inverse of plain(): results read back from a run's results.json."""
    if isinstance(value, dict) and {"rounds", "cpu_s"} <= value.keys():
        return Result(
            [Round(**{k: r[k] for k in Round.__dataclass_fields__}) for r in value["rounds"]], value["cpu_s"]
        )
    if isinstance(value, dict):
        return {int(k) if k.isdigit() else k: revive(v) for k, v in value.items()}
    if isinstance(value, list):
        return [revive(v) for v in value]
    return value


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den else None


def _fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{suffix}"


def _rps(data: dict, workload: str, setup: str) -> float | None:
    result = data["results"].get(workload, {}).get(setup)
    return result.rps if result and result.rounds else None


def _mem(data: dict, setup: str, when: str, key: str | None = None) -> float | None:
    info = data["setups"].get(setup)
    if not info or when not in info:
        return None
    return info[when].get(key or ("peak_mib" if when == "after" else "rss_mib"))


Share = tuple[str, float | None, str, float | None, float | None, float | None, float | None]


def shares(data: dict) -> list[Share]:
    """(workload, composite req/s, floor, floor req/s, share, share with the cache off, goal) per workload."""
    rows = []
    for workload in (*SITE, *API):
        if workload not in data["results"]:
            continue
        floor = FLOOR_OF[WORKLOADS[workload].app]
        own, base = _rps(data, workload, "composite"), _rps(data, floor, floor)
        uncached = _ratio(_rps(data, workload, "uncached"), base)
        rows.append((workload, own, floor, base, _ratio(own, base), uncached, GOALS.get(workload)))
    return rows


def targets(data: dict) -> list[tuple[str, str, float | None, str, bool | None]]:
    """(target, measured as, value, bound, met) for every target of the issue."""
    rows: list[tuple[str, str, float | None, str, bool | None]] = []

    def add(target: str, how: str, value: float | None, bound: float, at_most: bool = False) -> None:
        met = None if value is None else (value <= bound if at_most else value >= bound)
        rows.append((target, how, value, f"{'≤' if at_most else '≥'} {bound:g}", met))

    for w in API:
        add(
            f"API: {WORKLOADS[w].label}",
            "composite ÷ backend alone, req/s",
            _ratio(_rps(data, w, "composite"), _rps(data, w, "backend")),
            0.95,
        )
    for w in SITE:
        add(
            f"Website: {WORKLOADS[w].label.removeprefix('website ')}",
            "composite ÷ waitress, req/s",
            _ratio(_rps(data, w, "composite"), _rps(data, w, "waitress")),
            1.0,
        )
    for w in SITE:
        value = _ratio(_rps(data, w, "composite"), _rps(data, w, "gunicorn"))
        rows.append(
            (
                f"Website: {WORKLOADS[w].label.removeprefix('website ')}",
                "composite ÷ gunicorn 2 workers, req/s",
                value,
                "reported",
                None,
            )
        )
    for when, key, how in (
        ("rest", "rss_mib", "RSS at rest"),
        ("after", "peak_mib", "peak RSS after load"),
        ("rest", "pss_mib", "PSS at rest"),
        ("after", "pss_mib", "PSS after load"),
    ):
        split = [_mem(data, s, when, key) for s in ("backend", "waitress")]
        total = sum(split) if None not in split else None  # type: ignore[arg-type]
        add(
            f"Memory, {how}",
            "composite ÷ (backend + waitress)",
            _ratio(_mem(data, "composite", when, key), total),
            0.75,
            True,
        )
    both = data.get("both", {}).get("composite")
    alone = data["results"].get(BOTH[0], {}).get("composite")
    if both and alone:
        add(
            "Both ports loaded at once",
            f"API p99 ({BOTH[0]}) both ÷ alone",
            _ratio(both["api"].p99_ms, alone.p99_ms),
            3,
            True,
        )
    big = data["growth"].get(1_000_000)
    if big:
        add("1M prompts: search p50", "ms", big["latency"]["search"].p50_ms, 20, True)
        add("1M prompts: search p99", "ms", big["latency"]["search"].p99_ms, 80, True)
        site = big["latency"].get("site_search")
        if site:
            gap = site.p50_ms - big["latency"]["search"].p50_ms
            add("1M prompts: website search p50 minus API search p50", "ms", gap, 5, True)
        add("1M prompts: prompt page p50", "ms", big["latency"]["prompt"].p50_ms, 20, True)
    if data.get("startup"):
        median = sorted(data["startup"])[len(data["startup"]) // 2]
        add("Start-up to both ports ready", "s, median, existing database", median, 1, True)
    return rows


def _machine(data: dict) -> list[str]:
    m = data["machine"]
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return [
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['nproc']} cores (nproc) |",
        f"| memory | {m['memory_gib']} GiB |",
        f"| kernel, Python | Linux {m['kernel']}, Python {m['python']} |",
        f"| load generator | {m['wrk']} (one thread per wrk process) |",
        f"| load average at start | {load} |",
        f"| packages | {versions} |",
    ]


def _workload_tables(data: dict) -> list[str]:
    lines: list[str] = []
    for workload in [w for w in WORKLOADS if w in data["results"]]:
        by_setup = data["results"][workload]
        lines += [f"### {WORKLOADS[workload].label}", ""]
        lines += [
            "| setup | req/s | p50 ms | p99 ms | errors | CPU s / 1k req |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for setup, r in by_setup.items():
            cells = (
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                str(r.errors),
                f"{r.cpu_per_1k:.2f}",
            )
            lines.append(_row(SETUPS[setup].label, *cells))
        lines.append("")
    for kind, sides in data.get("both", {}).items():
        name = "composite (one process)" if kind == "composite" else "split (backend alone + waitress)"
        lines += [f"### Both ports at once: {name}", ""]
        lines += ["| side | req/s | p50 ms | p99 ms | errors |", "|---|--:|--:|--:|--:|"]
        for side, workload in zip(("api", "site"), BOTH, strict=True):
            r = sides[side]
            cells = (f"{r.rps:,.0f}", f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", str(r.errors))
            lines.append(_row(WORKLOADS[workload].label, *cells))
        lines.append("")
    return lines


def _share_table(data: dict) -> list[str]:
    rows = shares(data)
    if not rows:
        return ["(no workload with a floor was run)"]
    lines = ["| workload | composite req/s | floor | floor req/s | share | share, cache off | goal | met |"]
    lines.append("|---|--:|---|--:|--:|--:|--:|:-:|")
    for workload, own, floor, base, share, uncached, goal in rows:
        met = None if share is None or goal is None else share >= goal
        verdict = {True: "yes", False: "**no**", None: "—"}[met]
        cells = (_fmt(own, ",.0f"), SETUPS[floor].label, _fmt(base, ",.0f"), _fmt(share), _fmt(uncached))
        lines.append(_row(WORKLOADS[workload].label, *cells, "—" if goal is None else f"≥ {goal:g}", verdict))
    return lines


def _cache_table(data: dict) -> list[str]:
    stats = data["setups"].get("composite", {}).get("cache")
    if not stats:
        return ["(the composite was not run, or its metrics were not scraped)"]
    heads = ("hits", "misses", "hit ratio", "304s", "entries", "bytes held")
    lines = [_row("app", *heads), "|---|" + "--:|" * len(heads)]
    for app, s in stats.items():
        hits, misses = s.get("hits", 0), s.get("misses", 0)
        ratio = _ratio(hits, hits + misses)
        cells = (f"{hits:,.0f}", f"{misses:,.0f}", _fmt(ratio, ".3f"), f"{s.get('not_modified', 0):,.0f}")
        lines.append(_row(app, *cells, f"{s.get('entries', 0):,.0f}", f"{s.get('bytes', 0):,.0f}"))
    return lines


def _memory_table(data: dict) -> list[str]:
    heads = ("processes", "start-up s", "RSS at rest MiB", "PSS at rest MiB", "RSS after load MiB")
    lines = [_row("setup", *heads, "PSS after load MiB", "peak RSS MiB"), "|---|" + "--:|" * 7]
    for info in data["setups"].values():
        after, rest = info.get("after", {}), info["rest"]
        cells = [str(rest["processes"]), f"{info['startup_s']:.2f}"]
        cells += [f"{rest['rss_mib']:.0f}", _fmt(rest.get("pss_mib"), ".0f")]
        cells += [f"{after.get('rss_mib', 0):.0f}", _fmt(after.get("pss_mib"), ".0f")]
        lines.append(_row(info["label"], *cells, f"{after.get('peak_mib', 0):.0f}"))
    return lines


def _growth_table(data: dict) -> list[str]:
    if not data["growth"]:
        return ["(not run)"]
    heads = " | ".join(f"{k} p50 / p99 ms" for k in GROWTH)
    lines = [
        f"| prompts | {heads} | search after a write p50 / p99 ms | postings | index MiB | file MiB"
        " | RSS at rest MiB | RSS after MiB | start-up s |"
    ]
    lines.append("|--:|" + "--:|" * (len(GROWTH) + 7))
    for size, row in data["growth"].items():
        latency = row["latency"]
        cells = [f"{latency[k].p50_ms:.1f} / {latency[k].p99_ms:.1f}" if k in latency else "—"
                 for k in GROWTH]  # fmt: skip
        fresh = row.get("after_write")
        cells.append(f"{fresh['p50_ms']:.1f} / {fresh['p99_ms']:.1f}" if fresh else "—")
        index = row.get("index") or {}
        index_mib = sum(v for k, v in index.items() if k.endswith("_mib"))
        cells += [f"{index.get('postings', 0):,}", f"{index_mib:,.0f}" if index else "—"]
        cells += [
            f"{row['file_mib']:,.0f}",
            f"{row['rest']['rss_mib']:.0f}",
            f"{row['after']['rss_mib']:.0f}",
        ]
        lines.append(_row(f"{size:,}", *cells, f"{row['startup_s']:.2f}"))
    return lines


def write(data: dict, out: Path) -> None:
    """Write the markdown report and its SVG chart next to it."""
    plan = data["plan"]
    out.parent.mkdir(parents=True, exist_ok=True)
    svg = out.with_suffix(".svg")
    chart.write(data, svg)
    target_rows = ["| target | measured as | value | bound | met |", "|---|---|--:|--:|:-:|"]
    for target, how, value, bound, met in targets(data):
        verdict = {True: "yes", False: "**no**", None: "—"}[met]
        target_rows.append(f"| {target} | {how} | {_fmt(value, '.4g')} | {bound} | {verdict} |")
    sizes = ", ".join(f"{s:,}" for s in plan["growth_sizes"]) or "none"
    lines = [
        "# Performance",
        "",
        "The claim of this project is that one process serves both applications as fast as",
        "separate processes would, in less memory. This page is written by `make bench`",
        f"(`python -m bench.run`; this run took {data['elapsed_s'] / 60:.1f} min,"
        f" started {data['started']}).",
        "Every setup was measured in the same run, round-robin (the order alternating every round),",
        f"each on its own copy of one generated database of {plan['size']:,} prompts.",
        "",
        "Most workloads here repeat one URL or a couple of hundred, which measures the response",
        "cache. What readers spread over many pages get while writes trickle in is",
        "`docs/traffic.md` (`python -m bench.traffic`, also run by `make bench`).",
        "",
        "## Goals: shares of the frameworks' floors",
        "",
        "Each workload's requests per second through the composite, divided by its framework's",
        "hello on the same server in the same run: the website's by a Flask hello through the",
        "same WSGI adapter and thread count, the API's by a FastAPI hello (a sync endpoint).",
        "Repeated anonymous GETs are answered by the exact response cache; *share, cache off* is",
        "the same composite with `RESPONSE_CACHE_MB=0`, where every request reaches the app.",
        "",
        *_share_table(data),
        "",
        "## Targets",
        "",
        *target_rows,
        "",
        f"![Throughput and memory per setup]({svg.name})",
        "",
        "## Machine",
        "",
        *_machine(data),
        "",
        "## Method",
        "",
        f"- wrk, {plan['connections']} connections, {plan['warmup_s']:g} s warm-up then"
        f" {plan['rounds']} rounds of",
        f"  {plan['round_s']:g} s per workload and setup; req/s, p50 and p99 are medians over the rounds.",
        "- errors: non-2xx answers plus socket errors (connect, read, write, timeout), summed over rounds.",
        "- memory: VmRSS and VmHWM from /proc/<pid>/status, and PSS from /proc/<pid>/smaps_rollup,",
        "  summed over the setup's process tree (gunicorn: the arbiter and both workers; PSS counts",
        "  the pages they share once, RSS once per process); CPU: utime + stime from /proc/<pid>/stat",
        "  over the tree, during the measured rounds only.",
        "- anonymous GETs are answered from the composite's exact response cache once seen; the",
        "  split setups have none. Cache counters are scraped from its METRICS_PORT after the rounds.",
        "- all servers log at warning level only (no access log), so logging costs the same nowhere.",
        "- growth study: the composite with its response cache off (so that the repeated query mix",
        f"  reaches search itself) on generated databases of {sizes} prompts, one connection",
        "  (the latency of a request on an idle server),"
        f" {plan['growth_rounds']} rounds of {plan['growth_round_s']:g} s; then, per size, each of",
        "  the 12 queries right after a new prompt is written (so that it ranks afresh), and a check",
        "  that the next request finds that prompt. Index size: postings, and the blocks of",
        "  `search_terms` and `search_vocab` in the file.",
        "",
        "## Throughput and latency",
        "",
        *_workload_tables(data),
        "## Response cache",
        "",
        *_cache_table(data),
        "",
        "## Memory and start-up",
        "",
        *_memory_table(data),
        "",
        "Start-up of `python app.py` to both health checks answering, on an existing database: "
        + (", ".join(f"{t:.2f}" for t in data["startup"]) + " s." if data["startup"] else "not measured."),
        "",
        "## Growth",
        "",
        *_growth_table(data),
        "",
    ]
    if NOTES.exists():
        lines += [NOTES.read_text().rstrip(), ""]
    out.write_text("\n".join(lines))


def main(argv: list[str]) -> int:
    """Rewrite the report from a run's results.json."""
    data = revive(json.loads(Path(argv[0]).read_text()))
    write(data, Path(argv[1]) if len(argv) > 1 else Path(__file__).parent.parent / "docs" / "performance.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
