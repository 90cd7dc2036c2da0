"""``composite admin`` against the real process: every command, and who may not use it."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# The child in _as_nobody cannot read files once it is nobody: what the command imports on
# first use must already be imported (the test runner need not have imported getpass).
import composite.library.admin_cli  # noqa: F401
from composite.cli import main as cli_main
from tests.support.client import register
from tests.support.operations import admin, admin_socket
from tests.support.process import ServerProcess

NOBODY = 65534


@pytest.fixture
def live(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process with its admin socket in its data directory."""
    server = ServerProcess(tmp_path).start()
    yield server
    server.stop()


def _json(result) -> object:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_admin_socket_is_a_0600_file_next_to_the_database_and_no_tcp_port(live: ServerProcess) -> None:
    mode = os.stat(admin_socket(live)).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    # The admin API is not on the public ports.
    assert httpx.get(f"{live.backend}/stats").status_code == 404
    assert httpx.get(f"{live.backend}/api/stats").status_code == 404


def test_socket_file_is_removed_at_stop(live: ServerProcess) -> None:
    assert live.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful stop
    assert not Path(admin_socket(live)).exists()
    result = admin(live, "stats")
    assert result.returncode == 3
    assert result.stderr.strip() == f"error: no admin socket at {admin_socket(live)}: is the server running?"


def test_another_user_is_refused_with_one_line_and_a_failing_status(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    # A directory anyone may enter: only the socket's own mode keeps the other user out.
    open_dir = Path(tempfile.mkdtemp(prefix="composite-admin-"))
    open_dir.chmod(0o755)
    path = open_dir / "admin.sock"
    server = ServerProcess(tmp_path, env={"ADMIN_SOCKET": str(path)}).start()
    try:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        status, stderr = _as_nobody(["admin", "--socket", str(path), "stats"])
        assert status == 3, stderr
        assert stderr == f"error: permission denied on {path}: run as the user that runs the server\n"
        # The operator (the server's own user) gets through the same socket.
        assert cli_main(["admin", "--socket", str(path), "--json", "stats"]) == 0
    finally:
        server.stop()
        shutil.rmtree(open_dir, ignore_errors=True)


def _as_nobody(argv: list[str]) -> tuple[int, str]:
    """Run the ``composite`` command in a child process that has become user nobody."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: already has every module it needs, so no file access is required
        status = 99
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.dup2(write_end, 2)
            sys.stderr = os.fdopen(2, "w")
            status = cli_main(argv)
            sys.stderr.flush()
        except BaseException as exc:  # shown in the parent's assertion, not lost with the child
            os.write(write_end, f"{type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as output:
        stderr = output.read()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), stderr


def test_stats_checkpoint_and_metrics(live: ServerProcess) -> None:
    register(live, "counted")
    stats = _json(admin(live, "--json", "stats"))
    assert stats["rows"]["users"] == 1
    assert stats["rows"]["schema_migrations"] >= 4
    assert stats["file_bytes"] > 0
    assert stats["uptime_seconds"] > 0
    assert stats["last_backup_age_seconds"] is None
    plain = admin(live, "stats")
    assert "rows users: 1" in plain.stdout
    after = _json(admin(live, "--json", "checkpoint"))
    assert after["wal_bytes"] == 0
    metrics = admin(live, "metrics")
    assert metrics.returncode == 0
    assert "composite_requests_total" in metrics.stdout


def test_user_tasks_from_create_to_delete(live: ServerProcess) -> None:
    created = admin(live, "create-user", "ops-made", "--password-stdin", stdin="first-password\n")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("created user ops-made")
    token = httpx.post(
        f"{live.backend}/api/tokens", json={"username": "ops-made", "password": "first-password"}
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    made = httpx.post(f"{live.backend}/api/prompts", headers=auth, json={"title": "Mine", "body": "b"})
    assert made.status_code == 201
    users = _json(admin(live, "--json", "users"))
    assert [(u["username"], u["prompts"], u["tokens"], u["disabled"]) for u in users] == [
        ("ops-made", 1, 1, False)
    ]

    # Reset: the new password works, the old one and the old token do not.
    reset = admin(live, "reset-password", "ops-made", "--password-stdin", stdin="second-password\n")
    assert reset.returncode == 0, reset.stderr
    assert httpx.get(f"{live.backend}/api/tokens", headers=auth).status_code == 401
    old = httpx.post(
        f"{live.backend}/api/tokens", json={"username": "ops-made", "password": "first-password"}
    )
    assert old.status_code == 401
    token = httpx.post(
        f"{live.backend}/api/tokens", json={"username": "ops-made", "password": "second-password"}
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}

    # Disable: the token stops working and logging in is refused; enable lets them back in.
    assert admin(live, "disable", "ops-made").stdout.strip() == "ops-made: disabled"
    assert httpx.get(f"{live.backend}/api/tokens", headers=auth).status_code == 401
    login = {"username": "ops-made", "password": "second-password"}
    assert httpx.post(f"{live.backend}/api/tokens", json=login).status_code == 401
    assert _json(admin(live, "--json", "users"))[0]["disabled"] is True
    assert admin(live, "enable", "ops-made").returncode == 0
    assert httpx.post(f"{live.backend}/api/tokens", json=login).status_code == 201

    # Delete asks for confirmation, then removes the user and their prompts.
    refused = admin(live, "delete-user", "ops-made")
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    deleted = admin(live, "delete-user", "ops-made", "--yes")
    assert deleted.stdout.strip() == "deleted ops-made and 1 prompts"
    assert _json(admin(live, "--json", "users")) == []
    assert httpx.get(f"{live.backend}/api/prompts/{made.json()['id']}").status_code == 404


def test_bad_requests_are_one_line_errors(live: ServerProcess) -> None:
    missing = admin(live, "disable", "nobody-here")
    assert (missing.returncode, missing.stderr) == (1, "error: no user named 'nobody-here'\n")
    short = admin(live, "create-user", "shorty", "--password-stdin", stdin="x\n")
    assert short.returncode == 1
    assert short.stderr.startswith("error: ")
    assert "password" in short.stderr
    taken = admin(live, "backup", str(live.database))
    assert taken.returncode == 1
    assert "already exists" in taken.stderr
