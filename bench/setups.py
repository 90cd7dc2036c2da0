"""The setups under test: how each is started on loopback ports, waited for and stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import procstat

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a local benchmark's key


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Setup:
    """One way of serving the site: which apps it serves and how to start it."""

    name: str
    label: str
    serves: tuple[str, ...]  # "backend", "frontend" or a floor's app ("floor", "flask_floor", ...)
    read_only: bool = False  # cannot take writes (gunicorn's workers share one read-only file)
    metrics: bool = False  # serves Prometheus metrics on a port of its own (METRICS_PORT)

    def command(
        self, database: Path, ports: dict[str, int], root: Path = ROOT
    ) -> tuple[list[str], dict[str, str]]:
        """The command line and extra environment that start this setup (the composite from ``root``)."""
        env: dict[str, str] = {"PYTHONUNBUFFERED": "1"}
        if self.name in ("composite", "uncached"):
            env |= {
                "HOST": "127.0.0.1",
                "BACKEND_PORT": str(ports["backend"]),
                "FRONTEND_PORT": str(ports["frontend"]),
                "DATABASE_PATH": str(database),
                "SECRET_KEY": SECRET,
                "APP_ENV": "production",
                "LOG_LEVEL": "warning",
                "LOAD_EXAMPLES": "false",
                # Two composites' databases share a directory: each its own admin socket.
                "ADMIN_SOCKET": str(database.with_suffix(".sock")),
            }
            if self.metrics:
                env["METRICS_PORT"] = str(ports["metrics"])
            if self.name == "uncached":
                env["RESPONSE_CACHE_MB"] = "0"  # what the apps cost when every request reaches them
            return [PYTHON, str(root / "app.py")], env
        if self.name == "backend":
            return [PYTHON, "-m", "bench.serve_backend", str(database), str(ports["backend"])], env
        if self.name == "waitress":
            return [PYTHON, "-m", "bench.serve_frontend", str(database), str(ports["frontend"])], env
        if self.name == "gunicorn":
            env |= {"BENCH_DATABASE": str(database), "BENCH_READ_ONLY": "1"}
            command = [PYTHON, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{ports['frontend']}"]
            command += ["--log-level", "warning", "bench.serve_frontend:create_app()"]
            return command, env
        if self.name in FLOORS:
            return [PYTHON, "-m", "bench.serve_floor", FLOORS[self.name], str(ports[self.serves[0]])], env
        raise ValueError(self.name)


SETUPS = {
    s.name: s
    for s in (
        Setup("composite", "composite (python app.py)", ("backend", "frontend"), metrics=True),
        Setup("uncached", "composite, response cache off (RESPONSE_CACHE_MB=0)", ("backend", "frontend")),
        Setup("backend", "backend alone (uvicorn)", ("backend",)),
        Setup("waitress", "frontend alone (waitress)", ("frontend",)),
        Setup("gunicorn", "frontend alone (gunicorn, 2 sync workers)", ("frontend",), read_only=True),
        Setup("floor", "floor (minimal ASGI app, same uvicorn settings)", ("floor",)),
        Setup("flask_floor", "Flask hello (the website's server and threads)", ("flask_floor",)),
        Setup("fastapi_floor", "FastAPI hello (sync, small JSON; the API's server)", ("fastapi_floor",)),
    )
}
# Each floor setup and the kind bench/serve_floor.py serves for it.
FLOORS = {"floor": "asgi", "flask_floor": "flask", "fastapi_floor": "fastapi"}
READY_PATHS = {"backend": "/api/health", "frontend": "/healthz"} | {floor: "/" for floor in FLOORS}


@dataclass
class Running:
    """A started setup: its process, ports and log."""

    setup: Setup
    process: subprocess.Popen[bytes]
    ports: dict[str, int]
    log_path: Path
    startup_s: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def url(self, app: str) -> str:
        """Base URL of one of the setup's apps."""
        return f"http://127.0.0.1:{self.ports[app]}"

    def scrape(self) -> str:
        """The setup's Prometheus metrics now, or '' when it serves none."""
        if not self.setup.metrics:
            return ""
        with urllib.request.urlopen(f"{self.url('metrics')}/metrics", timeout=10) as response:
            return response.read().decode()

    def sample(self) -> procstat.Sample:
        """Memory and CPU of the whole process tree now."""
        return procstat.sample(self.process.pid)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process (gunicorn stops its workers) and wait; SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(setup: Setup, database: Path, log_dir: Path, timeout: float = 120.0, root: Path = ROOT) -> Running:
    """Start a setup and wait until every app it serves answers its health check.

    ``root`` is the checkout whose code a composite setup runs: another commit's, to
    measure a change against what it replaced in one run.
    """
    ports = {app: free_port() for app in (*setup.serves, *(("metrics",) if setup.metrics else ()))}
    command, extra_env = setup.command(database, ports, root)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{setup.name}.log"
    env = {k: v for k, v in os.environ.items() if k not in {"SCRIPT_NAME"}}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(root), str(ROOT), env.get("PYTHONPATH", "")]))
    env |= extra_env
    with log_path.open("ab") as log:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=log)
    running = Running(setup, process, ports, log_path)
    try:
        running.startup_s = wait_ready(running, started + timeout) - started
    except BaseException:
        running.stop()
        raise
    return running


def wait_ready(running: Running, deadline: float) -> float:
    """Poll every app's health check until all answer 200; return the moment they did."""
    pending = {f"{running.url(app)}{READY_PATHS[app]}" for app in running.setup.serves}
    while pending:
        if running.process.poll() is not None:
            raise RuntimeError(f"{running.setup.name} exited:\n{running.log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{running.setup.name} not ready:\n{running.log_path.read_text()[-3000:]}")
        for url in list(pending):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        pending.discard(url)
            except (urllib.error.URLError, OSError):
                pass
        if pending:
            time.sleep(0.005)
    return time.monotonic()
