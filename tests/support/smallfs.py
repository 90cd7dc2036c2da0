"""A small file system for the tests of a full disk: a tmpfs mounted for the test (root only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler"
CHUNK = 64 * 1024


@contextlib.contextmanager
def small_filesystem(directory: Path, size_mib: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size_mib`` MiB at ``directory`` for the block; skip where mounting is impossible.

    CI runs as root and sets REQUIRE_MOUNT=1, so there the test fails instead of skipping.
    """
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs (root needed): {mounted.stderr.strip()}"
        if os.environ.get("REQUIRE_MOUNT") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield directory
    finally:
        # Lazy: a server that failed to stop must not leave the mount behind for good.
        subprocess.run(["umount", "-l", str(directory)], check=False)


def free_bytes(directory: Path) -> int:
    """Bytes still free on the file system holding ``directory``."""
    stat = os.statvfs(directory)
    return stat.f_bavail * stat.f_frsize


def fill(directory: Path, leave: int = 0) -> Path:
    """Write a filler file until at most ``leave`` bytes are free (0: until the disk refuses)."""
    path = directory / FILLER
    with path.open("ab", buffering=0) as out:
        while (free := free_bytes(directory)) > leave:
            try:
                out.write(b"\0" * min(CHUNK, max(free - leave, 4096)))
            except OSError:
                break  # full
    return path
