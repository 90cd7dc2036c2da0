"""Online backup of the real process: under writes from both ports, restored, and killed midway."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import pytest

from composite.db import Database
from composite.db.backup import TEMPORARY_PREFIX, BackupError, backup_database, verify_backup
from tests.support.client import register
from tests.support.operations import admin, admin_socket
from tests.support.process import ROOT, ServerProcess
from tests.support.web import Browser

WRITERS_PER_PORT = 8  # 16 clients in all


class Writers:
    """Clients creating prompts through both ports until stopped; each write's title and ack time."""

    def __init__(self, server: ServerProcess) -> None:
        self.acked: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        for n in range(WRITERS_PER_PORT):
            token = register(server, f"api-writer-{n}")
            self.threads.append(threading.Thread(target=self._api, args=(server, token, n)))
            browser = Browser(server)
            browser.register(f"web-writer-{n}")
            self.threads.append(threading.Thread(target=self._web, args=(browser, n)))

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _loop(self, write: Callable[[str], bool], prefix: str) -> None:
        count = 0
        while not self.stop.is_set() and count < 2000:
            title = f"{prefix}-{count}"
            try:
                ok = write(title)
            except httpx.HTTPError as exc:
                self.errors.append(f"{title}: {exc!r}")
                return
            if not ok:
                self.errors.append(f"{title}: refused")
                return
            self.acked.append((time.monotonic(), title))
            count += 1

    def _api(self, server: ServerProcess, token: str, n: int) -> None:
        with httpx.Client(base_url=server.backend, timeout=30) as client:
            auth = {"Authorization": f"Bearer {token}"}

            def write(title: str) -> bool:
                body = {
                    "title": title,
                    "body": f"written by {title} " * 20,
                    "tags": ["backup"],
                    "visibility": "public",
                }
                return client.post("/api/prompts", headers=auth, json=body).status_code == 201

            self._loop(write, f"api{n}")

    def _web(self, browser: Browser, n: int) -> None:
        with browser:
            self._loop(
                lambda title: bool(browser.create_prompt(title, f"written by {title} " * 20)), f"web{n}"
            )

    def acknowledged_before(self, moment: float) -> set[str]:
        """Titles of every write answered before ``moment``."""
        return {title for at, title in list(self.acked) if at < moment}


def _titles(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as copy:
        return {row[0] for row in copy.execute("SELECT title FROM prompts").fetchall()}


def _half_written(path: Path) -> list[tuple[object, ...]]:
    """Prompts missing the rows their transaction wrote with them (version 1, index postings)."""
    with duckdb.connect(str(path), read_only=True) as copy:
        return copy.execute(
            "SELECT p.id, p.title FROM prompts p"
            " WHERE NOT EXISTS (SELECT 1 FROM prompt_versions v WHERE v.prompt_id = p.id AND v.version = 1)"
            " OR NOT EXISTS (SELECT 1 FROM search_terms t WHERE t.prompt_id = p.id)"
        ).fetchall()


def test_backup_under_writes_through_both_ports_then_restore(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"}).start()
    target = tmp_path / "backups" / "snapshot.db"
    target.parent.mkdir()
    try:
        with Writers(server) as writers:
            time.sleep(1.5)
            began = time.monotonic()
            result = admin(server, "--json", "backup", str(target))
            ended = time.monotonic()
            time.sleep(0.5)
        assert result.returncode == 0, result.stderr
        assert writers.errors == []
        report = json.loads(result.stdout)
        assert report["path"] == str(target)
        assert report["size_bytes"] == target.stat().st_size
        during = [t for at, t in writers.acked if began < at < ended]
        assert during, "no write was answered while the backup ran"
        must_hold = writers.acknowledged_before(began)
        health = httpx.get(f"{server.backend}/api/health").json()
        assert health["last_backup_age_seconds"] is not None
    finally:
        server.stop()

    # The snapshot: every write acknowledged before the backup began, no half-written one,
    # and exactly the row counts it reported.
    in_backup = _titles(target)
    assert must_hold <= in_backup
    assert _half_written(target) == []
    assert verify_backup(target) == report["rows"]
    assert report["rows"]["prompts"] == len(in_backup)
    assert not list(target.parent.glob(f"{TEMPORARY_PREFIX}*"))
    assert not Path(f"{target}.wal").exists()

    # Restore as docs/deployment.md says: stop, replace the file (and drop its old WAL), start.
    shutil.copyfile(target, server.database)
    Path(f"{server.database}.wal").unlink(missing_ok=True)
    restored = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"}).start()
    try:
        count = admin(restored, "--json", "stats")
        assert json.loads(count.stdout)["rows"]["prompts"] == len(in_backup)
        # Sequences came along with their values: new rows get new ids, no key clash.
        token = register(restored, "after-restore")
        made = httpx.post(
            f"{restored.backend}/api/prompts",
            headers={"Authorization": f"Bearer {token}"},
            json={"title": "after restore", "body": "b"},
        )
        assert made.status_code == 201, made.text
    finally:
        restored.stop()


@pytest.fixture(scope="module")
def ten_thousand_prompts() -> Path:
    """The bench's 10,000-prompt database (generated once, then cached): a backup of it takes a while."""
    sys.path.insert(0, str(ROOT))
    from bench.generate import cached_database

    return cached_database(10_000, log=lambda *args: None)


def test_kill_during_backup_leaves_no_final_file_and_the_live_database_intact(
    tmp_path: Path, ten_thousand_prompts: Path
) -> None:
    server = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"})
    server.database.parent.mkdir(parents=True)
    shutil.copyfile(ten_thousand_prompts, server.database)
    server.start()
    prompts_before = json.loads(admin(server, "--json", "stats").stdout)["rows"]["prompts"]
    target = tmp_path / "backups" / "killed.db"
    target.parent.mkdir()
    client = subprocess.Popen(
        [sys.executable, "-m", "composite", "admin", "--socket", admin_socket(server), "backup", str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(target.parent.glob(f"{TEMPORARY_PREFIX}*")):
            assert time.monotonic() < deadline, "the backup never started writing"
            assert client.poll() is None, client.communicate()
            time.sleep(0.005)
        server.signal(signal.SIGKILL)
        server.wait(10)
        _, stderr = client.communicate(timeout=30)
    finally:
        client.kill()
    assert client.returncode != 0
    assert stderr.startswith("error: ")
    assert not target.exists()
    restarted = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"}).start()
    try:
        stats = json.loads(admin(restarted, "--json", "stats").stdout)
        assert stats["rows"]["prompts"] == prompts_before
        assert httpx.get(f"{restarted.backend}/api/prompts", params={"limit": 5}).status_code == 200
    finally:
        restarted.stop()


def test_backup_refuses_an_existing_name_and_cleans_up_after_a_failure(tmp_path: Path) -> None:
    db = Database(tmp_path / "live.db").open()
    try:
        db.write(lambda cur: cur.execute("CREATE TABLE t AS SELECT range AS i FROM range(100)"))
        existing = tmp_path / "taken.db"
        existing.write_bytes(b"keep me")
        with pytest.raises(BackupError, match="already exists"):
            backup_database(db, existing)
        assert existing.read_bytes() == b"keep me"
        with pytest.raises(BackupError, match="does not exist"):
            backup_database(db, tmp_path / "no-such-dir" / "b.db")
        report = backup_database(db, tmp_path / "good.db")
        assert report.rows == {"t": 100}
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(TEMPORARY_PREFIX)) == []
    finally:
        db.close()
