"""Test fixtures for the container test: stand-in base images and a local package index.

No image registry can be reached where the test runs, so the two base images the project
names (python:3.11-slim-bookworm, nginx) are replaced by stand-ins built here: a Debian
bookworm root filesystem made with debootstrap, imported with ``docker import``, plus a
small Dockerfile under tests/docker/images/ that makes it behave like the official image
for what the project uses. They are tagged ``test-fixture/...`` and passed to the compose
file through PYTHON_IMAGE and NGINX_IMAGE.

The container inherits none of the host's pip configuration, so the wheels the image
needs are downloaded on the host (for the container's Python and platform) and served to
the build from a PEP 503 index on loopback, named by the Dockerfile's PIP_INDEX_URL.

Root filesystems and wheels are cached between runs in DOCKER_TEST_CACHE (default
~/.cache/composite-docker-test), each under a key made of everything that shapes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import html
import http.server
import inspect
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.docker.engine import Engine, EngineUnavailable

HERE = Path(__file__).resolve().parent
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# Debian bookworm: Python 3.11, glibc 2.36. Wheels are chosen for these, not the host's.
CONTAINER_PYTHON = "3.11"
CONTAINER_GLIBC_MINOR = 36
DEBOOTSTRAP_TIMEOUT = 900


@dataclass(frozen=True)
class StandIn:
    """One stand-in base image: the Debian packages of its root filesystem and its fixture Dockerfile."""

    name: str
    packages: tuple[str, ...]
    tag: str

    @property
    def context(self) -> Path:
        """The directory with the fixture Dockerfile."""
        return HERE / "images" / self.name


PYTHON = StandIn(
    "python",
    ("python3", "python3-pip", "python3-venv", "python-is-python3"),
    "test-fixture/python:3.11-bookworm",
)
NGINX = StandIn("nginx", ("nginx", "gettext-base", "curl"), "test-fixture/nginx:bookworm")
STAND_INS = (PYTHON, NGINX)


def cache_dir() -> Path:
    """Where root filesystems and wheels are kept between runs."""
    configured = os.environ.get("DOCKER_TEST_CACHE")
    if configured:
        path = Path(configured)
    else:
        path = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "composite-docker-test"
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror() -> str:
    """The Debian mirror debootstrap fetches from."""
    return os.environ.get("DEBIAN_MIRROR", DEFAULT_MIRROR)


def digest(*parts: object) -> str:
    """A short, stable key for a set of inputs."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on path (created if missing), so that two runs do not fill the cache at once."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _kill_processes_rooted_in(root: Path) -> None:
    """End any process a package script left running inside the new root filesystem."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if Path(os.readlink(entry / "root")) == root:
                    os.kill(int(entry.name), 9)


def _unmount_under(root: Path) -> None:
    """Unmount whatever debootstrap left mounted below root (proc, sys), deepest first."""
    prefix = f"{root}/"
    points = [
        line.split()[4]
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split()[4].startswith(prefix)
    ]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def find_debootstrap() -> str:
    """The debootstrap command; EngineUnavailable when it is not installed."""
    found = shutil.which("debootstrap", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"]))
    if found is None:
        raise EngineUnavailable("debootstrap is not installed (Debian: apt-get install debootstrap)")
    return found


def build_rootfs(stand_in: StandIn, out: Path) -> None:
    """debootstrap a minimal bookworm with the stand-in's packages, trim it and tar it to out."""
    debootstrap = find_debootstrap()
    work = Path(tempfile.mkdtemp(prefix=f"rootfs-{stand_in.name}-", dir=out.parent))
    root = work / "root"
    try:
        result = subprocess.run(
            [
                debootstrap,
                "--variant=minbase",
                f"--include={','.join(stand_in.packages)}",
                SUITE,
                str(root),
                mirror(),
            ],
            capture_output=True,
            text=True,
            timeout=DEBOOTSTRAP_TIMEOUT,
            check=False,
        )
        _kill_processes_rooted_in(root)
        _unmount_under(root)
        if result.returncode != 0:
            raise RuntimeError(
                f"debootstrap failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
            )
        # What a slim image leaves out: package caches and lists, documentation, translations.
        for pattern in (
            "var/cache/apt/*.bin",
            "var/cache/apt/archives/*.deb",
            "var/lib/apt/lists/*",
            "var/log/*.log",
        ):
            for path in root.glob(pattern):
                if path.is_file() or path.is_symlink():
                    path.unlink()
        for directory in ("usr/share/man", "usr/share/info", "usr/share/locale"):
            shutil.rmtree(root / directory, ignore_errors=True)
        for path in (root / "usr/share/doc").rglob("*"):
            if path.is_file() and path.name != "copyright":
                path.unlink()
        partial = out.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], check=True, timeout=600
        )
        partial.rename(out)
    finally:
        _kill_processes_rooted_in(root)
        _unmount_under(root)
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], capture_output=True, check=False)


def rootfs_key(stand_in: StandIn) -> str:
    """Everything that shapes a root filesystem: suite, mirror, packages, architecture, the recipe."""
    return digest(SUITE, mirror(), stand_in.packages, platform.machine(), inspect.getsource(build_rootfs))


def rootfs_tar(stand_in: StandIn) -> Path:
    """The stand-in's root filesystem as a tar, from the cache or made now (and older ones dropped)."""
    cache = cache_dir()
    out = cache / f"rootfs-{stand_in.name}-{rootfs_key(stand_in)}.tar"
    with locked(cache / f"rootfs-{stand_in.name}.lock"):
        if not out.exists():
            build_rootfs(stand_in, out)
            for old in cache.glob(f"rootfs-{stand_in.name}-*.tar"):
                if old != out:
                    old.unlink()
    return out


def provide_stand_ins(engine: Engine) -> dict[str, str]:
    """Import each root filesystem and build its fixture image; the tags by stand-in name."""
    tags = {}
    for stand_in in STAND_INS:
        rootfs = f"test-fixture/{stand_in.name}-rootfs:{rootfs_key(stand_in)}"
        engine.docker("import", "-", rootfs, stdin=rootfs_tar(stand_in), timeout=600)
        engine.docker(
            "build",
            "--network=host",
            f"--build-arg=ROOTFS_IMAGE={rootfs}",
            f"--tag={stand_in.tag}",
            str(stand_in.context),
            timeout=600,
        )
        tags[stand_in.name] = stand_in.tag
    return tags


def _platform_tags() -> list[str]:
    """Every manylinux tag the container's glibc accepts, newest first (pip does not expand them)."""
    arch = platform.machine()
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = []
    for minor in range(CONTAINER_GLIBC_MINOR, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_{arch}")
    return tags


def wheelhouse(requirements: Path) -> Path:
    """Wheels for requirements, for the container's Python and platform, from the cache or downloaded now."""
    cache = cache_dir()
    out = cache / f"wheels-{digest(requirements.read_text(), CONTAINER_PYTHON, _platform_tags())}"
    with locked(cache / "wheels.lock"):
        if not out.exists():
            partial = Path(tempfile.mkdtemp(prefix="partial-", dir=cache))
            try:
                # The host's pip settings (index, find-links, certificates) decide where from.
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "download",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--only-binary=:all:",
                        *(f"--platform={tag}" for tag in _platform_tags()),
                        f"--python-version={CONTAINER_PYTHON}",
                        "--implementation=cp",
                        f"--abi=cp{CONTAINER_PYTHON.replace('.', '')}",
                        "--requirement",
                        str(requirements),
                        "--dest",
                        str(partial),
                    ],
                    check=False,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if result.returncode != 0:
                    raise RuntimeError(f"pip download failed ({result.returncode}):\n{result.stderr[-3000:]}")
                partial.rename(out)
            finally:
                shutil.rmtree(partial, ignore_errors=True)
            for old in cache.glob("wheels-*"):
                if old.is_dir() and old != out:
                    shutil.rmtree(old, ignore_errors=True)
    return out


def _project(filename: str) -> str:
    """The normalised project name (PEP 503) of a wheel file."""
    return re.sub(r"[-_.]+", "-", filename.split("-", 1)[0]).lower()


def write_simple_index(wheels: Path, root: Path) -> None:
    """A static PEP 503 index of the wheels under root/simple, with the files under root/files."""
    files = root / "files"
    files.mkdir(parents=True)
    projects: dict[str, list[str]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        (files / wheel.name).symlink_to(wheel)
        sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
        name = html.escape(wheel.name)
        link = f'<a href="../../files/{name}#sha256={sha256}">{name}</a><br>'
        projects.setdefault(_project(wheel.name), []).append(link)
    for project, links in projects.items():
        page = root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True)
        page.write_text("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")
    listing = "".join(f'<a href="{p}/">{p}</a><br>\n' for p in sorted(projects))
    (root / "simple" / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{listing}</body></html>\n")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        """Say nothing."""


@contextlib.contextmanager
def package_index(wheels: Path) -> Iterator[str]:
    """Serve the wheels as a PEP 503 index on a free loopback port; yield its URL."""
    with tempfile.TemporaryDirectory(prefix="index-") as directory:
        write_simple_index(wheels, Path(directory))
        handler = functools.partial(_QuietHandler, directory=directory)
        with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
            finally:
                server.shutdown()
                thread.join(timeout=10)
