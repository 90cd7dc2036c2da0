"""Helpers for tests that operate the real process: ``composite admin`` and its socket."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping

from tests.support.process import ROOT, ServerProcess


def admin_socket(server: ServerProcess) -> str:
    """Where the server listens for admin commands (the default: next to its database)."""
    return str(server.database.with_name(f"{server.database.name}.admin.sock"))


def admin(
    server: ServerProcess,
    *args: str,
    stdin: str | None = None,
    user: int | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``composite admin --socket SOCKET ARGS...`` as the operator would, and capture it."""
    return subprocess.run(
        [sys.executable, "-m", "composite", "admin", "--socket", admin_socket(server), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        user=user,
    )
