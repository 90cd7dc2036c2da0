"""Run the real ``python app.py`` as a subprocess on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import httpx

ROOT = Path(__file__).resolve().parents[2]


# Ports handed out below the kernel's ephemeral range (32768 and up on Linux): neither an
# outgoing connection nor another process's bind to port 0 can take one between this
# check and the server's bind. Each pytest-xdist worker draws from its own slice, so two
# workers never hand out the same port.
_PORTS = range(10_000, 32_768)
_next_port: list[int] = []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, and no other test worker hands out."""
    if not _next_port:
        worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
        workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")), worker + 1)
        size = len(_PORTS) // workers
        start = _PORTS.start + worker * size
        _next_port[:] = [start, start + size, start + random.randrange(size)]
    low, high, port = _next_port
    for _ in range(high - low):
        port = low + (port + 1 - low) % (high - low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: by a server of an earlier test, or by anything else here
        _next_port[2] = port
        return port
    raise RuntimeError(f"no free port in {low}-{high}")


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid`` right now (zombies too), each with its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent is the second field after the command name, which may hold spaces and ")".
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found[int(entry.name)] = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                )
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited while being read
    return found


class ServerProcess:
    """One real server process with its own ports, database file and captured stderr."""

    # Every process started, so that a session fixture can stop any a failed test left.
    started: ClassVar[weakref.WeakSet[ServerProcess]] = weakref.WeakSet()

    def __init__(self, tmp_path: Path, env: Mapping[str, str] | None = None, **ports: int) -> None:
        self.backend_port = ports.get("backend_port") or free_port()
        self.frontend_port = ports.get("frontend_port") or free_port()
        self.database = tmp_path / "data" / "app.db"
        self.stderr_path = tmp_path / f"server-{self.backend_port}.log"
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"SCRIPT_NAME"}},
            "HOST": "127.0.0.1",
            "BACKEND_PORT": str(self.backend_port),
            "FRONTEND_PORT": str(self.frontend_port),
            "DATABASE_PATH": str(self.database),
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "LOG_LEVEL": "info",
            "SHUTDOWN_TIMEOUT": "5",
            "LOAD_EXAMPLES": "false",
            "PYTHONUNBUFFERED": "1",
            # Tests sign up many accounts from one address; tests of these budgets set them.
            "REGISTER_RATE": "10000/hour",
            "TOKEN_RATE": "10000/hour",
            **(env or {}),
        }
        self.cwd = tmp_path
        self.command = [str(ROOT / "app.py")]  # after the interpreter
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def backend(self) -> str:
        """Base URL of the API port."""
        return f"http://127.0.0.1:{self.backend_port}"

    @property
    def frontend(self) -> str:
        """Base URL of the website port."""
        return f"http://127.0.0.1:{self.frontend_port}"

    def start(self, wait: bool = True, timeout: float = 20.0) -> ServerProcess:
        """Start the process; by default wait until both ports answer their health checks."""
        self._stderr = self.stderr_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *self.command],
            cwd=self.cwd,
            env=self.env,
            stdout=self._stderr,
            stderr=self._stderr,
        )
        ServerProcess.started.add(self)
        if wait:
            try:
                self.wait_ready(timeout)
            except BaseException:
                self.stop()
                raise
        return self

    def wait_ready(self, timeout: float = 20.0) -> float:
        """Block until both health checks answer 200; return the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        pending = {f"{self.backend}/api/health", f"{self.frontend}/healthz"}
        # One client for the whole wait, closed at the end: a request that times out while
        # the process is still starting must not leave its socket behind.
        with httpx.Client(timeout=1) as client:
            while pending:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server not ready after {timeout}s:\n{self.log()}")
                for url in list(pending):
                    try:
                        if client.get(url).status_code == 200:
                            pending.discard(url)
                    except httpx.HTTPError:
                        pass
                if pending:
                    time.sleep(0.02)
        return time.monotonic() - started

    def signal(self, sig: int = signal.SIGTERM) -> None:
        """Send a signal to the server process."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit and return its status."""
        assert self.proc is not None
        status = self.proc.wait(timeout)
        self._stderr.close()
        return status

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not go."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            self._stderr.close()
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self._stderr.close()

    def children(self) -> dict[int, str]:
        """The server process's child processes right now, each with its command line."""
        assert self.proc is not None
        return children(self.proc.pid)

    def log(self) -> str:
        """Everything the process has written so far."""
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""


def run_app(
    tmp_path: Path, env: Mapping[str, str], timeout: float = 20.0
) -> subprocess.CompletedProcess[str]:
    """Run app.py to completion (for start-ups that must fail) and capture its output."""
    server = ServerProcess(tmp_path)
    full_env = {**server.env, **env}
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def database_held_by_another_process(path: Path) -> Iterator[int]:
    """Keep ``path`` open read-write in a second Python process; yield that process's PID."""
    script = (
        f"import duckdb, sys\nc = duckdb.connect({str(path)!r})\nprint('ready', flush=True)\nsys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        yield holder.pid
    finally:
        holder.communicate("")
