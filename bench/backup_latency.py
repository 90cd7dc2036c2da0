"""Latency of both ports with and without an online backup running: ``python -m bench.backup_latency DB``.

Copies DB (e.g. one made by ``python -m bench.generate 100000 PATH``) into a temporary
directory, serves it with ``python app.py``, and runs wrk on a prompt page of each port at
once: first for SECONDS alone, then for SECONDS with ``composite admin backup`` started after
five of them. Prints p50, p99 and max per port, and the backup's own report line.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.operations import admin
from tests.support.process import ServerProcess

_PERCENTILE = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)$", re.MULTILINE)
_MAX = re.compile(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", re.MULTILINE)
_SCALE = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, seconds: int, connections: int) -> subprocess.Popen[str]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


def _figures(output: str) -> str:
    values = {p: float(v) * _SCALE[u] for p, v, u in _PERCENTILE.findall(output)}
    worst = _MAX.search(output)
    top = float(worst.group(1)) * _SCALE[worst.group(2)] if worst else float("nan")
    return f"p50 {values.get('50', 0):.0f} ms, p99 {values.get('99', 0):.0f} ms, max {top:.0f} ms"


def _round(server: ServerProcess, seconds: int, connections: int, prompt: int, backup: Path | None) -> None:
    runs = {
        "api": _wrk(f"{server.backend}/api/prompts/{prompt}", seconds, connections),
        "site": _wrk(f"{server.frontend}/prompts/{prompt}", seconds, connections),
    }
    if backup is not None:
        time.sleep(5)
        result = admin(server, "backup", str(backup), timeout=3600)
        print("  " + (result.stdout or result.stderr).strip())
    for name, run in runs.items():
        output, _ = run.communicate()
        print(f"  {name:4}: {_figures(output)}")


def main(argv: list[str] | None = None) -> int:
    """Measure both ports without, then during, a backup."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--connections", type=int, default=4, help="per port")
    parser.add_argument("--prompt", type=int, default=5000, help="the prompt id both ports read")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="backup-latency-") as tmp:
        server = ServerProcess(Path(tmp), env={"LOG_LEVEL": "warning"})
        server.database.parent.mkdir(parents=True)
        shutil.copyfile(args.database, server.database)
        server.start(timeout=120)
        try:
            print(f"no backup ({args.seconds} s, {args.connections} connections per port):")
            _round(server, args.seconds, args.connections, args.prompt, None)
            print("during a backup:")
            _round(server, args.seconds, args.connections, args.prompt, Path(tmp) / "snapshot.db")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
