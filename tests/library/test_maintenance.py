"""``composite admin restore | dump | load | migrate`` as the operator runs them, against the real process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
import httpx
import zstandard

from composite import __version__
from composite.db.schema import migration_files
from composite.library.migrations import MIGRATIONS_DIR
from tests.support.client import register
from tests.support.operations import admin
from tests.support.process import ServerProcess, run_app

LAST_MIGRATION = migration_files(MIGRATIONS_DIR)[-1].name


def _create(server: ServerProcess, token: str, title: str) -> int:
    made = httpx.post(
        f"{server.backend}/api/prompts",
        headers={"Authorization": f"Bearer {token}"},
        json={"title": title, "body": f"body of {title}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _titles(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as copy:
        return {title for (title,) in copy.execute("SELECT title FROM prompts").fetchall()}


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_restore_a_compressed_backup_never_reuses_an_acknowledged_id(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    backup = tmp_path / "snapshot.db.zst"
    try:
        token = register(server, "writer")
        _create(server, token, "before the backup")
        made = admin(server, "backup", str(backup))
        assert made.returncode == 0, made.stderr
        after_backup = _create(server, token, "after the backup")
        # The running server holds the file: the restore refuses and replaces nothing.
        refused = _one_line_error(admin(server, "restore", str(backup), "--database", str(server.database)))
        assert "refusing to restore" in refused
        assert "locked by process" in refused
    finally:
        server.stop()
    assert backup.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd
    assert _titles(server.database) == {"before the backup", "after the backup"}

    result = admin(server, "--json", "restore", str(backup), "--database", str(server.database))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"]["prompts"] == 1
    (kept,) = (Path(p) for p in report["kept"])
    assert kept.parent == server.database.parent
    assert kept.name.startswith("app.db.before-restore-")
    assert _titles(kept) == {"before the backup", "after the backup"}  # the replaced state, whole
    assert _titles(server.database) == {"before the backup"}
    assert not Path(f"{server.database}.wal").exists()
    assert not list(server.database.parent.glob(".restore-*"))

    restored = ServerProcess(tmp_path).start()
    try:
        token = register(restored, "writer-again")
        assert _create(restored, token, "after the restore") > after_backup
    finally:
        restored.stop()


def test_restore_checks_the_backup_before_it_replaces_anything(tmp_path: Path) -> None:
    live = tmp_path / "data" / "app.db"
    server = ServerProcess(tmp_path).start()
    server.stop()
    before = live.read_bytes()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    line = _one_line_error(admin(server, "restore", str(garbage), "--database", str(live)))
    assert line.startswith(f"error: restore failed, nothing replaced: {garbage} is not a readable database")
    damaged = tmp_path / "damaged.db.zst"
    packed = zstandard.ZstdCompressor().compress(before)
    damaged.write_bytes(packed[: len(packed) // 2])  # a copy cut short
    assert "does not decompress" in _one_line_error(
        admin(server, "restore", str(damaged), "--database", str(live))
    )
    newer = tmp_path / "newer.db"
    with duckdb.connect(str(newer)) as file:
        file.execute("CREATE TABLE schema_migrations (version INTEGER, name TEXT, release TEXT)")
        file.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', '99.0.0')")
    line = _one_line_error(admin(server, "restore", str(newer), "--database", str(live)))
    assert "9999_future.sql (applied by release 99.0.0)" in line
    missing = _one_line_error(admin(server, "restore", str(tmp_path / "nowhere.db"), "--database", str(live)))
    assert "no backup file at" in missing
    assert live.read_bytes() == before
    assert sorted(p.name for p in live.parent.iterdir() if p.name.startswith("app.db")) == ["app.db"]
    assert not list(live.parent.glob(".restore-*"))


def test_dump_from_the_running_server_then_load_into_a_new_file(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    dump = tmp_path / "dump"
    try:
        token = register(server, "author")
        last = max(_create(server, token, f"prompt {n}") for n in range(5))
        result = admin(server, "--json", "dump", str(dump))
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["rows"]["prompts"] == 5
        again = _one_line_error(admin(server, "dump", str(dump)))
        assert "is not an empty directory" in again
    finally:
        server.stop()
    manifest = json.loads((dump / "manifest.json").read_text())
    assert manifest["release"] == __version__
    assert manifest["migrations"][-1] == LAST_MIGRATION
    assert (dump / "prompts.parquet").exists()

    # Into the file of a database that exists: refused.
    taken = _one_line_error(admin(server, "load", str(dump), "--database", str(server.database)))
    assert "already holds a database" in taken
    # Into a new file, moved elsewhere first (the load does not depend on where the dump was made).
    moved = tmp_path / "elsewhere" / "dump"
    moved.parent.mkdir()
    dump.rename(moved)
    other = tmp_path / "other"
    loaded = admin(server, "load", str(moved), "--database", str(other / "data" / "app.db"))
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.startswith(f"loaded {moved} into {other}/data/app.db: ")
    copy = ServerProcess(other).start()
    try:
        listed = httpx.get(f"{copy.backend}/api/prompts", params={"limit": 50}).json()
        token = register(copy, "newcomer")
        assert _create(copy, token, "after the load") > last
    finally:
        copy.stop()
    assert _titles(copy.database) >= {f"prompt {n}" for n in range(5)} | {"after the load"}
    assert listed is not None


def test_migrate_check_asks_the_running_server_or_reads_the_stopped_file(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        running = admin(server, "migrate", "--check")
        assert running.returncode == 0, running.stderr
        assert running.stdout.splitlines()[-1] == "up to date: nothing to apply"
        assert f"opened by releases {__version__}" in running.stdout
    finally:
        server.stop()
    # As if this code brought the last migration and the file had not had it yet.
    with duckdb.connect(str(server.database)) as file:
        file.execute("DELETE FROM schema_migrations WHERE name = ?", [LAST_MIGRATION])
    stopped = admin(server, "migrate", "--dry-run", "--database", str(server.database))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.splitlines()[-1] == f"would apply: {LAST_MIGRATION}"
    with duckdb.connect(str(server.database)) as file:
        file.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', now(), '99.0.0')")
    line = _one_line_error(admin(server, "migrate", "--check", "--database", str(server.database)))
    assert line == (
        f"error: database {server.database} has migrations release {__version__} does not know: "
        "9999_future.sql (applied by release 99.0.0); run that release or a newer one, "
        "or restore a backup taken before it"
    )


def test_the_server_refuses_a_database_with_migrations_it_does_not_know(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    server.stop()
    with duckdb.connect(str(server.database)) as file:
        file.execute("ALTER TABLE prompts ADD COLUMN from_the_future TEXT")
        file.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', now(), '99.0.0')")
    result = run_app(tmp_path, {"DATABASE_PATH": str(server.database)})
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: database {server.database} has migrations release {__version__} does not know: "
        "9999_future.sql (applied by release 99.0.0); run that release or a newer one, "
        "or restore a backup taken before it"
    ]


def test_a_file_of_an_earlier_release_is_migrated_and_records_this_one(tmp_path: Path) -> None:
    database = tmp_path / "data" / "app.db"
    database.parent.mkdir()
    # What releases before schema versions wrote: the runner's table without a release column.
    with duckdb.connect(str(database)) as file:
        file.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp)"
        )
        for path in migration_files(MIGRATIONS_DIR)[:-1]:
            file.execute(path.read_text())
            file.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [int(path.name[:4]), path.name]
            )
    server = ServerProcess(tmp_path).start()
    server.stop()
    with duckdb.connect(str(database), read_only=True) as file:
        rows = file.execute("SELECT name, release FROM schema_migrations ORDER BY version").fetchall()
        releases = file.execute("SELECT release FROM schema_releases").fetchall()
    assert rows[-1] == (LAST_MIGRATION, __version__)
    assert rows[0][1] is None  # applied by a release that did not record itself
    assert releases == [(__version__,)]
