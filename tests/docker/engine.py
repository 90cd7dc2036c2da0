"""A private Docker engine for the container test: its own directories and socket, stopped by PID.

dockerd runs with its data root, exec root, pidfile and unix socket in one temporary
directory, changes no iptables rules and creates no bridge network; containers use the
host's network (all traffic on loopback). Whatever happens, ``private_engine`` removes the
containers, stops dockerd by its PID, ends any process it left behind (found by the
engine directory in its command line), unmounts what is left under the directory and
removes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar

T = TypeVar("T")

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


class EngineUnavailable(RuntimeError):
    """The private engine cannot run on this machine (not installed, not root, failed to start)."""


def unavailable(reason: str) -> NoReturn:
    """Fail the test when an engine is required (CI sets REQUIRE_DOCKER=1), skip it otherwise."""
    import pytest

    if os.environ.get("REQUIRE_DOCKER") == "1":
        pytest.fail(f"REQUIRE_DOCKER=1 but the container test cannot run here: {reason}", pytrace=False)
    pytest.skip(f"the container test cannot run here: {reason}")


def or_unavailable(make: Callable[[], T]) -> T:
    """Return ``make()``; an EngineUnavailable skips the test, or fails it where an engine is required."""
    try:
        return make()
    except EngineUnavailable as exc:
        reason = str(exc)
    unavailable(reason)  # outside the except: the skip or failure should not chain the error


def find_binaries() -> tuple[str, str]:
    """dockerd and the docker CLI of the same installation (Debian's docker.io puts them apart)."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS])
    dockerd = shutil.which("dockerd", path=path)
    if dockerd is None:
        raise EngineUnavailable("dockerd is not installed (Debian: apt-get install docker.io)")
    here = Path(dockerd).resolve().parent
    for candidate in (here / "docker", here.parent / "bin" / "docker"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return dockerd, str(candidate)
    cli = shutil.which("docker", path=path)
    if cli is None:
        raise EngineUnavailable("the docker CLI is not installed (Debian: apt-get install docker.io)")
    return dockerd, cli


@dataclass
class Engine:
    """A running private dockerd and the environment that points clients at it."""

    home: Path
    process: subprocess.Popen[bytes]
    cli: str

    @property
    def socket(self) -> Path:
        """The engine's unix socket."""
        return self.home / "docker.sock"

    @property
    def log(self) -> Path:
        """dockerd's own log (stdout and stderr)."""
        return self.home / "dockerd.log"

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for docker and compose: this engine, an empty client config, nothing else."""
        config = self.home / "config"
        config.mkdir(exist_ok=True)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_CONFIG": str(config),
            **extra,
        }

    def docker(
        self, *args: str, timeout: float = 120, check: bool = True, stdin: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the docker CLI against this engine; raise with its output when it fails and check is set."""
        with contextlib.ExitStack() as stack:
            source = stack.enter_context(stdin.open("rb")) if stdin else subprocess.DEVNULL
            result = subprocess.run(
                [self.cli, *args],
                stdin=source,
                capture_output=True,
                env=self.env(),
                timeout=timeout,
                check=False,
            )
        completed = subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace"),
        )
        if check and completed.returncode != 0:
            raise RuntimeError(
                f"docker {' '.join(args)} failed ({completed.returncode}):\n"
                f"{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
            )
        return completed

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of dockerd's log, for error messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(home: Path, dockerd: str, cli: str) -> Engine:
    """Start dockerd with all its state in home."""
    log = (home / "dockerd.log").open("wb")
    try:
        process = subprocess.Popen(
            [
                dockerd,
                f"--data-root={home / 'root'}",
                f"--exec-root={home / 'exec'}",
                f"--pidfile={home / 'docker.pid'}",
                f"--host=unix://{home / 'docker.sock'}",
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    return Engine(home=home, process=process, cli=cli)


def _wait_ready(engine: Engine) -> None:
    """Wait until dockerd answers on its socket; raise EngineUnavailable with its log otherwise."""
    process = engine.process
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(f"dockerd exited with status {process.returncode}:\n{engine.log_tail()}")
        if engine.socket.exists() and engine.docker("version", timeout=10, check=False).returncode == 0:
            return
        time.sleep(0.3)
    raise EngineUnavailable(f"dockerd did not answer within {START_TIMEOUT:.0f} s:\n{engine.log_tail()}")


def processes_under(home: Path) -> list[int]:
    """PIDs of processes whose command line names the engine directory (containerd, shims)."""
    marker = f"{home}/".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


def _mounts_under(home: Path) -> list[str]:
    """Mount points at or below the engine directory, deepest first."""
    prefix = str(home)
    points = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(points, key=len, reverse=True)


def _stop(engine: Engine) -> None:
    """Remove the containers, stop dockerd by PID, end leftovers by PID, unmount, remove the directory."""
    if engine.process.poll() is None:
        with contextlib.suppress(Exception):
            ids = engine.docker("ps", "--all", "--quiet", timeout=30, check=False).stdout.split()
            if ids:
                engine.docker("rm", "--force", "--volumes", *ids, timeout=60, check=False)
        engine.process.terminate()
        try:
            engine.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            engine.process.kill()
            engine.process.wait(timeout=STOP_TIMEOUT)
    for pid in processes_under(engine.home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while processes_under(engine.home) and time.monotonic() < deadline:
        time.sleep(0.1)
    for point in _mounts_under(engine.home):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(engine.home)], capture_output=True, check=False)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """Treat SIGTERM/SIGHUP like Ctrl-C: the run stops and the engine is stopped on the way out."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def private_engine(base: Path | None = None) -> Iterator[Engine]:
    """A private dockerd for the duration of the block; stopped and removed whatever happens."""
    if os.geteuid() != 0:
        raise EngineUnavailable("dockerd needs root (it mounts filesystems and creates namespaces)")
    dockerd, cli = find_binaries()
    # A short directory: a unix socket path must fit in 108 bytes.
    home = Path(tempfile.mkdtemp(prefix="dkr-", dir=base or "/tmp"))
    previous: dict[signal.Signals, Any] = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    engine: Engine | None = None
    try:
        engine = _spawn(home, dockerd, cli)
        _wait_ready(engine)
        yield engine
    finally:
        for sig in previous:  # a second signal must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if engine is not None:
            _stop(engine)
        else:
            subprocess.run(["rm", "-rf", "--one-file-system", str(home)], capture_output=True, check=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
