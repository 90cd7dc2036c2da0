"""Run wrk with bench/report.lua and read back its JSON line."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("report.lua")
MARKER = "BENCH_JSON "


class LoadError(RuntimeError):
    """wrk is missing or did not report."""


@dataclass(frozen=True)
class Load:
    """What to send: a method, paths to rotate over, an optional JSON body, bearer token and cookie."""

    method: str = "GET"
    paths: tuple[str, ...] = ("/",)
    body: str | None = None
    token: str | None = None
    cookie: str | None = None


@dataclass(frozen=True)
class Round:
    """One wrk run's results."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Result:
    """Several rounds of one workload, summarised by medians."""

    rounds: list[Round] = field(default_factory=list)
    cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        """Requests over all rounds."""
        return sum(r.requests for r in self.rounds)

    @property
    def rps(self) -> float:
        """Median requests per second over rounds."""
        return statistics.median(r.rps for r in self.rounds) if self.rounds else 0.0

    @property
    def p50_ms(self) -> float:
        """Median of the rounds' median latencies."""
        return statistics.median(r.p50_ms for r in self.rounds) if self.rounds else 0.0

    @property
    def p99_ms(self) -> float:
        """Median of the rounds' 99th percentile latencies."""
        return statistics.median(r.p99_ms for r in self.rounds) if self.rounds else 0.0

    @property
    def errors(self) -> int:
        """Non-2xx answers and socket errors over all rounds."""
        return sum(r.errors for r in self.rounds)

    @property
    def cpu_per_1k(self) -> float:
        """CPU seconds the server spent per 1,000 requests."""
        return 1000 * self.cpu_s / self.requests if self.requests else 0.0


def wrk_path() -> str:
    """The wrk binary, or LoadError saying how to get it."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadError("wrk is required: apt-get install -y wrk (make bench installs it)")
    return path


def start(url: str, load: Load, seconds: float, connections: int) -> subprocess.Popen[str]:
    """Start one wrk run in the background (one thread: the server needs the other core)."""
    if not url.startswith(("http://127.", "http://localhost")):
        raise LoadError(f"only loopback targets are allowed, not {url}")
    env = {
        **os.environ,
        "BENCH_PATHS": "|".join(load.paths),
        "BENCH_METHOD": load.method,
        "BENCH_TOKEN": load.token or "",
        "BENCH_COOKIE": load.cookie or "",
    }
    if load.body is not None:
        env["BENCH_BODY"] = load.body
    else:
        env.pop("BENCH_BODY", None)
    duration = max(1, round(seconds))
    command = [wrk_path(), "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s"]
    command += ["-s", str(SCRIPT), url]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen[str]) -> Round:
    """Wait for a wrk run and parse its report."""
    output, _ = process.communicate(timeout=120)
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            break
    else:
        raise LoadError(f"wrk did not report:\n{output}")
    errors = data["non2xx"] + data["connect"] + data["read"] + data["write"] + data["timeout"]
    return Round(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def run(url: str, load: Load, seconds: float, connections: int) -> Round:
    """One wrk run in the foreground."""
    return finish(start(url, load, seconds, connections))
