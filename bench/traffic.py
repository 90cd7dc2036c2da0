"""Real traffic: readers spread over many pages and queries while writes trickle in.

One URL repeated measures only the response cache. Here each workload rotates over 1,000
prompts (or 300 distinct queries, or 50 listing pages), after one warm pass, while a second
client writes at a steady rate all through the measured rounds: a star or unstar on a
random prompt, an edit of one prompt, a sign-up, in turn. Shares are of the frameworks'
floors (Flask hello, FastAPI hello) measured in the same run on the same server settings.

Usage: ``python -m bench.traffic [--source DIR] [--writes 0,2,20] [--seconds 8]``;
``--source`` serves another checkout's ``app.py`` (an earlier commit, for a before and after).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

from bench import generate, loadgen, setups, vocab, workloads

CONNECTIONS = 32
PROMPTS = 10_000
# A measured workload at one write rate: its round, and the writes committed per second.
Measured = tuple[loadgen.Round, float]
# Which app each workload reads, and what it rotates over (filled in once ids are known).
WORKLOADS = {
    "site_prompt": ("frontend", "website prompt page, 1,000 prompts"),
    "api_get": ("backend", "API get one, 1,000 prompts"),
    "api_list": ("backend", "API list, 50 pages and sorts"),
    "site_home": ("frontend", "website home and tag pages, 78 URLs"),
    "site_search": ("frontend", "website search, 300 queries"),
    "api_search": ("backend", "API search, 300 queries"),
}
FLOORS = {"frontend": "flask_floor", "backend": "fastapi_floor"}
HEADING = "# Performance under real traffic (`python -m bench.traffic`, part of `make bench`)"
ABOUT = (
    "Each workload rotates over many pages after one warm pass, while a second client writes"
    " at the rate in its column all through the round (star, unstar, an edit, a sign-up in"
    " turn; the site refuses sign-ups past its limit per address, so fewer writes commit than"
    " are sent, see the last row). Cells are requests per second and, in brackets, the share of"
    ' the framework\'s floor. "before" is the commit this page was first measured against'
    ' (every commit emptied every cache); "caches off" is RESPONSE_CACHE_MB=0.'
)


def queries(count: int = 300) -> list[str]:
    """Distinct searches of one or two topic words, as people type them."""
    words = sorted(set(vocab.DOMAIN))
    rng = random.Random(3)
    pairs = [f"{a} {b}" for a, b in itertools.combinations(words, 2)]
    rng.shuffle(pairs)
    return [*words[: count // 3], *pairs[: count - count // 3]]


def paths(name: str, ids: list[int]) -> tuple[str, ...]:
    """The paths one workload rotates over."""
    asked = [quote_plus(q) for q in queries()]
    if name == "site_prompt":
        return tuple(f"/prompts/{i}" for i in ids)
    if name == "api_get":
        return tuple(f"/api/prompts/{i}" for i in ids)
    if name == "api_list":
        sorts = ("new", "stars")
        return tuple(f"/api/prompts?sort={s}&offset={20 * n}" for s in sorts for n in range(25))
    if name == "site_home":
        return ("/", *(f"/tags/{t}" for t in vocab.TAGS))
    if name == "site_search":
        return tuple(f"/search?q={q}" for q in asked)
    return tuple(f"/api/prompts?q={q}" for q in asked)


class Writer:
    """Writes at a steady rate through the API until stopped: stars, unstars, an edit, a sign-up.

    Each write is sent on a pool of its own, so a slow one (a sign-up hashes a password)
    does not hold back the next: the rate asked for is the rate sent. The site limits
    sign-ups per address; those it refuses (429) are counted apart.
    """

    def __init__(self, backend: str, token: str, ids: list[int], own_id: int, rate: float) -> None:
        self.backend, self.token, self.ids, self.own_id, self.rate = backend, token, ids, own_id, rate
        self.done = self.refused = self.failed = 0
        self.last_failure = ""
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._pool = ThreadPoolExecutor(8, thread_name_prefix="writer")

    def __enter__(self) -> Writer:
        if self.rate > 0:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        self._pool.shutdown(wait=True)

    @property
    def achieved(self) -> float:
        """Writes the site committed per second while the writer ran."""
        return self.done / self.seconds if self.seconds else 0.0

    def _send(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> None:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.backend}{path}", data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            outcome = "done"
        except urllib.error.HTTPError as exc:
            outcome = "refused" if exc.code == 429 else "failed"
            self.last_failure = f"{method} {path}: {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            outcome = "failed"
            self.last_failure = f"{method} {path}: {exc}"
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)

    def _run(self) -> None:
        rng = random.Random(11)
        kinds = itertools.cycle(("star", "unstar", "edit", "star", "unstar", "signup"))
        started = time.monotonic()
        for n in itertools.count():
            if self._stop.wait(max(0.0, started + n / self.rate - time.monotonic())):
                break
            kind = next(kinds)
            if kind in ("star", "unstar"):
                path = f"/api/prompts/{rng.choice(self.ids)}/star"
                self._pool.submit(self._send, "PUT" if kind == "star" else "DELETE", path)
            elif kind == "edit":
                self._pool.submit(
                    self._send, "PATCH", f"/api/prompts/{self.own_id}", {"title": f"Edited {n}"}
                )
            else:
                user = {"username": f"reader-{uuid.uuid4().hex[:12]}", "password": "password123"}
                self._pool.submit(self._send, "POST", "/api/users", user, False)
        self.seconds = time.monotonic() - started


def warm(url: str, load: loadgen.Load) -> None:
    """Ask every path once, eight at a time: what a cache holds after readers have passed by."""

    def get(path: str) -> None:
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=60) as response:
                response.read()
        except (urllib.error.URLError, OSError):
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(get, load.paths))


def measure(url: str, load: loadgen.Load, seconds: float) -> loadgen.Round:
    """One warm pass over the paths, then one measured round."""
    warm(url, load)
    return loadgen.run(url, load, seconds, CONNECTIONS)


def own_prompt(backend: str, token: str) -> int:
    """A public prompt of the bench user's, for the writer to edit."""
    body = json.dumps({"title": "Edited", "body": "A prompt the benchmark edits.", "visibility": "public"})
    request = urllib.request.Request(
        f"{backend}/api/prompts",
        data=body.encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["id"]


@dataclass(frozen=True)
class Plan:
    """What one run measures."""

    rates: list[float]
    seconds: float
    workloads: list[str]
    prompts: int = PROMPTS


def run_setup(
    setup: setups.Setup, source: Path, database: Path, work: Path, plan: Plan
) -> tuple[dict[tuple[str, float], Measured], WriteRound]:
    """Every workload at every write rate on one setup, then the mixed writes."""
    ids = workloads.public_ids(database, 1000)
    running = setups.start(setup, database, work / "logs", root=source)
    results: dict[tuple[str, float], Measured] = {}
    try:
        backend = running.url("backend")
        token = workloads.api_token(backend)
        edited = own_prompt(backend, token)
        for name in plan.workloads:
            app = WORKLOADS[name][0]
            load = loadgen.Load(paths=paths(name, ids))
            for rate in plan.rates:
                with Writer(backend, token, ids, edited, rate) as writer:
                    got = measure(running.url(app), load, plan.seconds)
                results[name, rate] = (got, writer.achieved)
                print(
                    f"  {setup.name} {name} at {rate:g} writes/s: {got.rps:.0f} req/s, {got.errors} errors"
                    f" ({writer.achieved:.1f} writes/s committed, {writer.refused} refused,"
                    f" {writer.failed} failed {writer.last_failure})",
                    flush=True,
                )
        writes = mixed_writes(running, token, ids, plan.seconds)  # last: it adds prompts
        print(
            f"  {setup.name} mixed writes: {writes.round.rps:.0f} req/s, {writes.round.errors} errors",
            flush=True,
        )
    finally:
        running.stop()
    return results, writes


@dataclass(frozen=True)
class WriteRound:
    """The mixed-write round: its requests, and what the write lock cost during it."""

    round: loadgen.Round
    transactions: float | None  # write transactions committed per request written
    # Holds of the write lock longer than each bound (seconds) during the round; None
    # where the server does not count them (an older checkout, or metrics off).
    holds_longer_than: dict[float, float] | None


def mixed_writes(running: setups.Running, token: str, ids: list[int], seconds: float) -> WriteRound:
    """32 connections creating, starring, unstarring and editing in turn, as fast as they go.

    Stars rotate over 250 prompts and edits over 50 of the writer's own: many prompts
    change, as when many people write, rather than one prompt edited 32 times at once.
    """
    edited = [own_prompt(running.url("backend"), token) for _ in range(50)]
    paths: list[str] = []
    for n, prompt_id in enumerate(ids[:250]):
        paths += [
            "POST /api/prompts",
            f"PUT /api/prompts/{prompt_id}/star",
            f"DELETE /api/prompts/{prompt_id}/star",
            f"PATCH /api/prompts/{edited[n % len(edited)]}",
        ]
    # One body for all: a new prompt's fields are a valid edit too, and a star ignores it.
    load = loadgen.Load(method="POST", paths=tuple(paths), body=workloads.NEW_PROMPT, token=token)
    before = running.scrape()
    got = loadgen.run(running.url("backend"), load, seconds, CONNECTIONS)
    after = running.scrape()
    committed = [_metric(scraped, "composite_write_transactions") for scraped in (before, after)]
    per_request = None
    if None not in committed and got.requests:
        per_request = (committed[1] - committed[0]) / got.requests  # type: ignore[operator]
    longer = [_labelled(scraped, "composite_write_lock_holds_longer_than") for scraped in (before, after)]
    holds = {float(b): longer[1][b] - longer[0].get(b, 0.0) for b in longer[1]} if longer[1] else None
    return WriteRound(got, per_request, holds)


def _metric(scraped: str, name: str) -> float | None:
    """The value of one unlabelled or app-labelled gauge in a Prometheus scrape (None if absent)."""
    for line in scraped.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            return float(line.rsplit(" ", 1)[1])
    return None


def _labelled(scraped: str, name: str) -> dict[str, float]:
    """A one-label gauge in a Prometheus scrape: each label value's value (empty if absent)."""
    found = {}
    for line in scraped.splitlines():
        if line.startswith(name + "{"):
            labels, value = line.rsplit(" ", 1)
            found[labels.split('"')[1]] = float(value)
    return found


def _holds(longer_than: dict[float, float] | None) -> str:
    """Holds over 100 ms in a round, and the longest bound one passed: "2 (the longest over 250 ms)"."""
    if longer_than is None:
        return "not measured"
    passed = [bound for bound, count in sorted(longer_than.items()) if count]
    if passed:
        over = f"the longest over {passed[-1] * 1000:g} ms"
    else:
        over = f"none over {min(longer_than) * 1000:g} ms"
    return f"{longer_than.get(0.1, 0):,.0f} ({over})"


def floors(work: Path, seconds: float) -> dict[str, float]:
    """Requests per second of Flask hello and FastAPI hello on the same server."""
    found = {}
    for app, name in FLOORS.items():
        running = setups.start(setups.SETUPS[name], work / "none.db", work / "logs")
        try:
            found[app] = measure(running.url(name), loadgen.Load(paths=("/",)), seconds).rps
        finally:
            running.stop()
    return found


def table(results: dict[str, dict[tuple[str, float], Measured]], floor: dict[str, float], plan: Plan) -> str:
    """Requests per second and shares of the floor per workload, setup and write rate, as Markdown."""
    columns = [(label, rate) for label in results for rate in plan.rates]
    head = "| workload | " + " | ".join(f"{label}, {rate:g} writes/s" for label, rate in columns) + " |"
    lines = [head, "|---|" + "--:|" * len(columns)]
    for name in plan.workloads:
        app, title = WORKLOADS[name]
        cells = []
        for label, rate in columns:
            got = results[label].get((name, rate))
            cells.append(f"{got[0].rps:,.0f} ({got[0].rps / floor[app]:.2f})" if got else "")
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    committed = [min(results[label][name, rate][1] for name in plan.workloads) for label, rate in columns]
    lines.append(
        "| writes committed per second, least of the rounds | "
        + " | ".join(f"{c:.1f}" for c in committed)
        + " |"
    )
    lines.append("")
    lines.append(
        f"req/s (share of the floor): Flask hello {floor['frontend']:,.0f} req/s,"
        f" FastAPI hello {floor['backend']:,.0f} req/s, measured in the same run;"
        f" {CONNECTIONS} connections, {plan.prompts:,} generated prompts, production mode."
    )
    return "\n".join(lines)


def writes_table(writes: dict[str, WriteRound], floor: float) -> str:
    """The mixed-write round per setup, as Markdown."""
    lines = [
        f"Mixed writes: {CONNECTIONS} connections creating, starring, unstarring and editing in turn"
        " (stars over 250 prompts, edits over 50 of the writer's own).",
        "",
        "| setup | req/s (share of the FastAPI floor) | write transactions per request"
        " | write-lock holds over 100 ms in the round |",
        "|---|--:|--:|--:|",
    ]
    for label, got in writes.items():
        per = f"{got.transactions:.2f}" if got.transactions is not None else "not measured"
        errors = f", {got.round.errors} errors" if got.round.errors else ""
        lines.append(
            f"| {label} | {got.round.rps:,.0f} ({got.round.rps / floor:.2f}){errors} | {per}"
            f" | {_holds(got.holds_longer_than)} |"
        )
    lines += ["", "Holds are counted from the server's metrics, scraped before and after the round."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, action="append", help="another checkout to serve (repeatable)")
    parser.add_argument("--writes", default="0,2,20", help="write rates per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per measured round")
    parser.add_argument("--uncached", action="store_true", help="also measure with RESPONSE_CACHE_MB=0")
    parser.add_argument(
        "--uncached-only", action="store_true", help="measure every source with RESPONSE_CACHE_MB=0 only"
    )
    parser.add_argument("--prompts", type=int, default=PROMPTS, help="generated prompts in the database")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    parser.add_argument("--workloads", help=f"comma-separated, of {', '.join(WORKLOADS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="one-second rounds at 2 writes/s: a smoke run")
    args = parser.parse_args(argv)
    chosen = args.workloads.split(",") if args.workloads else list(WORKLOADS)
    if unknown := set(chosen) - set(WORKLOADS):
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    plan = Plan([float(r) for r in args.writes.split(",")], args.seconds, chosen, args.prompts)
    if args.quick:  # seconds, not minutes: what the test suite runs
        plan = Plan([2.0], 1.0, ["site_prompt", "api_get"], 2_000)
    sources = [("this checkout", setups.ROOT), *((f"{s.name}", s.resolve()) for s in args.source or [])]
    work = Path(tempfile.mkdtemp(prefix="bench-traffic-"))
    try:
        cached = generate.cached_database(plan.prompts, log=lambda m: print(m, flush=True))
        results: dict[str, dict[tuple[str, float], Measured]] = {}
        writes: dict[str, WriteRound] = {}
        if args.uncached_only:
            runs = [(f"{label}, caches off", source, setups.SETUPS["uncached"]) for label, source in sources]
        else:
            runs = [(label, source, setups.SETUPS["composite"]) for label, source in sources]
        if args.uncached and not args.uncached_only:
            runs.append(("this checkout, caches off", setups.ROOT, setups.SETUPS["uncached"]))
        for label, source, setup in runs:
            database = generate.copy_database(cached, work / f"{len(results)}.db")
            print(f"{label}:", flush=True)
            results[label], writes[label] = run_setup(setup, source, database, work, plan)
        floor = floors(work, plan.seconds)
        report = table(results, floor, plan) + "\n\n" + writes_table(writes, floor["backend"])
        print()
        print(report)
        if args.out:
            args.out.write_text(f"{HEADING}\n\n{ABOUT}\n\n{report}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
