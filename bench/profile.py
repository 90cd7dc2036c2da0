"""Profile the composite under one workload with py-spy and print where its time goes.

Usage: ``python -m bench.profile WORKLOAD [SECONDS] [PROMPTS] [SETUP]`` (SETUP ``uncached``
profiles with the response cache off) (py-spy is in
bench/requirements.txt). Prints the functions with the most samples, by their own time
and including what they call, over every thread (idle waits left out).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import generate, loadgen, setups
from bench.workloads import WORKLOADS, api_token, load_for, public_ids, session_cookie

IDLE = ("select (selectors.py", "_worker (concurrent", "wait (threading.py", "get (queue.py", "run_forever")


def summarise(collapsed: Path, top: int = 25) -> str:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in IDLE):
            continue
        count = int(count_text)
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} busy samples", "", "own time:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["", "including callees:"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Start the composite, load it while py-spy records, print the summary."""
    workload = argv[0] if argv else "api_list"
    seconds = float(argv[1]) if len(argv) > 1 else 10
    size = int(argv[2]) if len(argv) > 2 else 10_000
    setup = setups.SETUPS[argv[3] if len(argv) > 3 else "composite"]
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    source = generate.cached_database(size)
    database = generate.copy_database(source, work / "profile.db")
    running = setups.start(setup, database, work)
    try:
        token = api_token(running.url("backend")) if WORKLOADS[workload].writes else None
        cookie = session_cookie(running.url("frontend")) if WORKLOADS[workload].account else None
        load = load_for(workload, public_ids(source), token, cookie)
        url = running.url(WORKLOADS[workload].app)
        loadgen.run(url, load, 2, 32)
        out = work / "profile.txt"
        record = ["record", "--pid", str(running.process.pid), "--format", "raw", "--rate", "200"]
        spy = subprocess.Popen(
            [py_spy, *record, "--duration", str(round(seconds)), "--output", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        result = loadgen.run(url, load, seconds, 32)
        spy.wait(timeout=seconds + 30)
        print(f"{workload}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms")
        print(summarise(out))
    finally:
        running.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
