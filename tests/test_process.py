"""The real process: both ports, port ownership, graceful stop, operator errors, and no child process."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bench import generate
from composite.db import Database
from composite.library import reindex
from tests.support.process import ServerProcess, database_held_by_another_process, run_app


def test_both_ports_answer_and_each_app_owns_only_its_port(server: ServerProcess) -> None:
    health = httpx.get(f"{server.backend}/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["database"] == "ok"
    home = httpx.get(f"{server.frontend}/")
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert httpx.get(f"{server.frontend}/static/style.css").status_code == 200
    assert httpx.get(f"{server.frontend}/healthz").status_code == 200
    assert httpx.get(f"{server.backend}/api/openapi.json").json()["info"]["title"]
    assert httpx.get(f"{server.backend}/api/docs").status_code == 200

    # The split deployment's 404s: each app answers for its own paths only.
    wrong_api = httpx.get(f"{server.frontend}/api/health")
    assert wrong_api.status_code == 404
    assert "text/html" in wrong_api.headers["content-type"]
    wrong_site = httpx.get(f"{server.backend}/")
    assert wrong_site.status_code == 404
    assert wrong_site.json() == {"detail": "Not Found"}


def test_access_log_names_the_app_that_served(server: ServerProcess) -> None:
    httpx.get(f"{server.backend}/api/health")
    httpx.get(f"{server.frontend}/healthz")
    time.sleep(0.2)
    log = server.log()
    assert "composite.access: backend 127.0.0.1:" in log
    assert '"GET /api/health HTTP/1.1" 200' in log
    assert "composite.access: frontend 127.0.0.1:" in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_lets_slow_requests_on_both_ports_finish_then_exits(tmp_path: Path, sig: int) -> None:
    server = ServerProcess(tmp_path, env={"TEST_ENDPOINTS": "true", "SHUTDOWN_TIMEOUT": "5"}).start()
    results: dict[str, httpx.Response | Exception] = {}

    def fetch(name: str, url: str) -> None:
        try:
            results[name] = httpx.get(url, timeout=10)
        except httpx.HTTPError as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=fetch, args=("backend", f"{server.backend}/api/_sleep?seconds=1.5")),
        threading.Thread(target=fetch, args=("frontend", f"{server.frontend}/_sleep?seconds=1.5")),
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.signal(sig)
    time.sleep(0.3)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.backend}/api/health", timeout=2)
    status = server.wait(timeout=5 + 2)
    elapsed = time.monotonic() - started
    for thread in threads:
        thread.join()
    assert isinstance(results["backend"], httpx.Response), results["backend"]
    assert results["backend"].json() == {"slept": 1.5}
    assert isinstance(results["frontend"], httpx.Response), results["frontend"]
    assert results["frontend"].json() == {"slept": 1.5}
    assert status in (0, -sig, 130), server.log()
    assert elapsed < 5 + 2
    assert "Traceback" not in server.log()
    assert "database closed" in server.log()
    assert not Path(f"{server.database}.wal").exists()
    # The file is unlocked: another process can open it read-write.
    check = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(server.database)!r}).close()"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_shutdown_timeout_bounds_a_request_that_never_ends(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"TEST_ENDPOINTS": "true", "SHUTDOWN_TIMEOUT": "1"}).start()
    outcome: list[object] = []

    def fetch() -> None:
        try:
            outcome.append(httpx.get(f"{server.backend}/api/_sleep?seconds=20", timeout=30).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    server.signal(signal.SIGTERM)
    server.wait(timeout=1 + 2 + 5)
    assert time.monotonic() - started < 1 + 2
    thread.join()
    assert outcome
    assert outcome[0] != 200  # cut off, not answered as if it had finished


def test_second_instance_on_the_same_ports_fails_naming_the_port(
    server: ServerProcess, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    result = run_app(
        other,
        {
            "BACKEND_PORT": str(server.backend_port),
            "FRONTEND_PORT": str(server.frontend_port),
            "DATABASE_PATH": str(other / "app.db"),
        },
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: port {server.backend_port} (backend) on 127.0.0.1 is already in use"]
    assert "Traceback" not in result.stderr
    assert httpx.get(f"{server.backend}/api/health").status_code == 200  # the first one is unharmed


def test_frontend_port_taken_binds_nothing(tmp_path: Path) -> None:
    import socket

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        result = run_app(tmp_path, {"FRONTEND_PORT": str(taken)})
    assert result.returncode != 0
    assert f"error: port {taken} (frontend)" in result.stderr
    assert not (tmp_path / "data" / "app.db").exists()  # nothing half started


def test_locked_database_fails_fast_naming_the_pid(tmp_path: Path) -> None:
    path = tmp_path / "data" / "app.db"
    path.parent.mkdir()
    with database_held_by_another_process(path) as pid:
        started = time.monotonic()
        result = run_app(tmp_path, {"DATABASE_PATH": str(path)})
        assert time.monotonic() - started < 10
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert f"is locked by process {pid}" in errors[0]
    assert "Traceback" not in result.stderr


def test_unwritable_data_directory_fails_fast(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = run_app(tmp_path, {"DATABASE_PATH": str(blocker / "app.db")})
    assert result.returncode == 3
    assert f"error: data directory {blocker} is not writable" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"), [({"APP_ENV": "development"}, 4), ({"APP_ENV": "production"}, 0)]
)
def test_example_prompts_load_in_development_only(tmp_path: Path, env: dict[str, str], expected: int) -> None:
    env = {**env, "LOAD_EXAMPLES": "", "SECRET_KEY": "a-production-secret-of-forty-characters-0123"}
    server = ServerProcess(tmp_path, env=env).start()
    try:
        assert httpx.get(f"{server.backend}/api/prompts").json()["total"] == expected
    finally:
        server.stop()
    again = ServerProcess(
        tmp_path, env=env, backend_port=server.backend_port, frontend_port=server.frontend_port
    )
    again.start()
    try:  # loaded once, not again at every start
        assert httpx.get(f"{again.backend}/api/prompts").json()["total"] == expected
    finally:
        again.stop()


PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "a-production-secret-of-forty-characters-0123"}


def mark_index_outdated(path: Path) -> None:
    """Leave the database as an upgrade to a new tokeniser does: the next start rebuilds the index."""
    db = Database(path).open()
    try:
        db.write(lambda cur: cur.execute("UPDATE search_state SET tokeniser = 'older'"))
    finally:
        db.close()


def start_and_check_children(tmp_path: Path, server: ServerProcess | None = None) -> ServerProcess:
    """Start the server (again on the same ports), and check it has no child once both ports answer."""
    ports = (
        {} if server is None else {"backend_port": server.backend_port, "frontend_port": server.frontend_port}
    )
    started = ServerProcess(tmp_path, env=PRODUCTION, **ports).start(timeout=120)
    try:
        assert started.children() == {}
    finally:
        started.stop()
    return started


def test_the_server_has_no_child_process_on_a_new_database_nor_after_a_rebuild(tmp_path: Path) -> None:
    server = start_and_check_children(tmp_path)  # a new database: migrated and indexed at start
    mark_index_outdated(server.database)
    again = start_and_check_children(tmp_path, server)  # a small library: rebuilt in the process
    assert "search index for tokeniser" in again.log()
    assert "worker processes" not in again.log()


@pytest.mark.skipif(
    reindex.worker_count(reindex.IN_PROCESS_BELOW) == 0, reason="one core: no workers to test"
)
def test_the_server_has_no_child_process_after_a_rebuild_in_worker_processes(tmp_path: Path) -> None:
    path = tmp_path / "data" / "app.db"
    path.parent.mkdir()
    generate.generate(path, reindex.IN_PROCESS_BELOW)  # the smallest library tokenised in workers
    mark_index_outdated(path)
    server = start_and_check_children(tmp_path)
    assert f"tokenising {reindex.IN_PROCESS_BELOW} prompts in" in server.log()
    assert f"search index rebuilt over {reindex.IN_PROCESS_BELOW} prompts" in server.log()
