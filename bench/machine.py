"""The machine and the software versions a run was measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "uvicorn", "uvloop", "httptools", "fastapi", "starlette", "pydantic", "flask", "werkzeug",
    "jinja2", "a2wsgi", "anyio", "duckdb", "waitress", "gunicorn",
)  # fmt: skip


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    """Total memory in GiB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def wrk_version() -> str:
    """wrk's version line."""
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "missing"
    return out.splitlines()[0].split(" Copyright")[0] if out else "unknown"


def describe() -> dict[str, object]:
    """Everything the report says about where it was measured."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory_gib": round(memory_gib(), 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version(),
        "load_average": os.getloadavg(),
        "versions": versions,
    }
