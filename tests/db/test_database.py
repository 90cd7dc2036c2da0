"""Database: concurrent writers lose nothing, migrations, lifecycle and leaks."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from composite.db import Database, DatabaseClosedError, DatabaseError, DatabaseLockedError
from composite.library.migrations import MIGRATIONS_DIR
from tests.support.process import database_held_by_another_process


@pytest.fixture
def scratch(tmp_path: Path):
    """A database with one scratch table, outside the site's schema."""
    database = Database(tmp_path / "scratch.db").open()
    database.write(lambda cur: cur.execute("CREATE TABLE items (thread INTEGER, n INTEGER)"))
    database.write(lambda cur: cur.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER)"))
    database.write(lambda cur: cur.execute("INSERT INTO counter VALUES (1, 0)"))
    yield database
    database.close()


def test_eight_threads_by_500_inserts_give_exactly_4000_rows(scratch: Database) -> None:
    def insert_many(thread: int) -> None:
        for n in range(500):
            scratch.write(lambda cur, n=n: cur.execute("INSERT INTO items VALUES (?, ?)", [thread, n]))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(insert_many, range(8)))
    assert scratch.fetchone("SELECT count(*), count(DISTINCT (thread, n)) FROM items") == (4000, 4000)


def test_concurrent_read_modify_write_loses_no_increment(scratch: Database) -> None:
    def increment(cur) -> None:
        (value,) = cur.execute("SELECT value FROM counter WHERE id = 1").fetchone()
        cur.execute("UPDATE counter SET value = ? WHERE id = 1", [value + 1])

    def worker() -> None:
        for _ in range(200):
            scratch.write(increment)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert scratch.fetchone("SELECT value FROM counter") == (1600,)


def test_failed_write_rolls_back(scratch: Database) -> None:
    def half_then_fail(cur) -> None:
        cur.execute("INSERT INTO items VALUES (1, 1)")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        scratch.write(half_then_fail)
    assert scratch.fetchone("SELECT count(*) FROM items") == (0,)
    scratch.write(lambda cur: cur.execute("INSERT INTO items VALUES (2, 2)"))
    assert scratch.fetchone("SELECT count(*) FROM items") == (1,)


def test_each_thread_has_its_own_cursor(scratch: Database) -> None:
    cursors = []
    lock = threading.Lock()

    def grab() -> None:
        with lock:
            cursors.append(id(scratch.cursor()))

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(cursors)) == 4
    assert scratch.cursor() is scratch.cursor()


def test_migrations_apply_once_in_order(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_first.sql").write_text("CREATE TABLE a (x INTEGER);")
    (migrations / "0002_second.sql").write_text("INSERT INTO a VALUES (1); CREATE TABLE b (y INTEGER);")
    (migrations / "notes.txt").write_text("not a migration")
    database = Database(tmp_path / "m.db").open()
    try:
        assert database.migrate(migrations) == ["0001_first.sql", "0002_second.sql"]
        assert database.migrate(migrations) == []
        (migrations / "0003_third.sql").write_text("INSERT INTO a VALUES (3);")
        assert database.migrate(migrations) == ["0003_third.sql"]
        assert database.fetchall("SELECT x FROM a ORDER BY x") == [(1,), (3,)]
        assert database.fetchall("SELECT version FROM schema_migrations ORDER BY version") == [
            (1,),
            (2,),
            (3,),
        ]
    finally:
        database.close()


def test_failing_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_ok.sql").write_text("CREATE TABLE a (x INTEGER);")
    (migrations / "0002_bad.sql").write_text("CREATE TABLE b (y INTEGER); SELECT * FROM missing;")
    database = Database(tmp_path / "m.db").open()
    try:
        with pytest.raises(Exception, match="missing"):
            database.migrate(migrations)
        tables = {row[0] for row in database.fetchall("SELECT table_name FROM information_schema.tables")}
        assert "b" not in tables
        assert "a" not in tables
    finally:
        database.close()


def test_site_migrations_are_idempotent(db: Database) -> None:
    assert db.migrate(MIGRATIONS_DIR) == []


def test_use_after_close_raises_and_close_is_safe_twice(tmp_path: Path) -> None:
    database = Database(tmp_path / "c.db").open()
    database.fetchone("SELECT 1")
    database.close()
    database.close()
    with pytest.raises(DatabaseClosedError):
        database.fetchone("SELECT 1")
    with pytest.raises(DatabaseClosedError):
        database.write(lambda cur: None)
    with pytest.raises(DatabaseClosedError):
        database.open()


def test_close_checkpoints_and_unlocks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    database = Database(path).open()
    database.write(lambda cur: cur.execute("CREATE TABLE t AS SELECT 42 AS v"))
    threading.Thread(target=lambda: database.fetchone("SELECT 1")).start()  # a cursor in another thread
    database.close()
    assert not Path(f"{path}.wal").exists()
    again = Database(path).open()
    try:
        assert again.fetchone("SELECT v FROM t") == (42,)
    finally:
        again.close()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_open_close_fifty_times_leaks_no_files_or_threads(tmp_path: Path) -> None:
    path = tmp_path / "leak.db"
    Database(path).open().close()
    fds, threads = _open_fds(), threading.active_count()
    for _ in range(50):
        database = Database(path).open()
        database.migrate(MIGRATIONS_DIR)
        worker = threading.Thread(
            target=lambda d=database: d.fetchone("SELECT count(*) FROM schema_migrations")
        )
        worker.start()
        worker.join()
        database.close()
    assert _open_fds() <= fds
    assert threading.active_count() <= threads


def test_locked_database_names_the_holding_process(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    with database_held_by_another_process(path) as pid, pytest.raises(DatabaseLockedError) as caught:
        Database(path).open()
    assert caught.value.pid == pid
    assert f"process {pid}" in str(caught.value)


def test_unwritable_data_directory_is_reported(tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    with pytest.raises(DatabaseError, match="not writable"):
        Database(not_a_directory / "app.db").open()


def test_rows_become_objects_by_column_name_not_position(db: Database) -> None:
    from dataclasses import dataclass

    from composite.db import DatabaseError, row_as, rows_as

    @dataclass(frozen=True)
    class Pair:
        num: int
        word: str

    cur = db.cursor()
    # Columns in another order than the fields, and one more: each field still gets its own.
    assert row_as(Pair, cur.execute("SELECT 'r' AS word, 7 AS extra, 1 AS num")) == Pair(1, "r")
    assert rows_as(Pair, cur.execute("SELECT * FROM (VALUES ('a', 1), ('b', 2)) t(word, num)")) == [
        Pair(1, "a"),
        Pair(2, "b"),
    ]
    assert row_as(Pair, cur.execute("SELECT 1 AS num, 'x' AS word WHERE false")) is None
    with pytest.raises(DatabaseError, match="no column for a field of Pair"):
        row_as(Pair, cur.execute("SELECT 1 AS num"))


def _undo_bytes(database: Database) -> int:
    """What DuckDB holds for transactions: old versions that an open reader may still need."""
    sql = "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'TRANSACTION'"
    row = database.fetchone(sql)
    assert row is not None
    return int(row[0])


def test_an_idle_thread_s_last_read_keeps_no_old_versions_and_blocks_no_checkpoint(scratch: Database) -> None:
    from composite.db import first, row_as

    @dataclass(frozen=True)
    class Body:
        body: str

    wide = "CREATE TABLE wide AS SELECT range AS id, repeat('x', 200) AS body FROM range(100000)"
    scratch.write(lambda cur: cur.execute(wide))
    scratch.write(lambda cur: cur.execute("CREATE SEQUENCE ticket"))
    reads = (
        lambda: scratch.fetchone("SELECT body FROM wide WHERE id = 5"),
        lambda: row_as(Body, scratch.cursor().execute("SELECT body FROM wide WHERE id = 6")),
        # A read that wrote (a sequence): left open, it makes every CHECKPOINT fail.
        lambda: first(scratch.cursor().execute("SELECT nextval('ticket')")),
    )
    done = threading.Event()
    started = threading.Barrier(len(reads) + 1)

    def read_then_idle(read) -> None:
        read()
        started.wait()
        done.wait(60)  # idle with its cursor, as a pool's thread between requests

    threads = [threading.Thread(target=read_then_idle, args=(read,)) for read in reads]
    for thread in threads:
        thread.start()
    try:
        started.wait(30)
        update = "UPDATE wide SET body = body || 'y' WHERE id = ?"
        for k in range(1000):
            scratch.write(lambda cur, k=k: cur.execute(update, [k]))
        # With one read left open DuckDB kept about 250 MiB of old versions here.
        assert _undo_bytes(scratch) < 32 * 2**20
        scratch.cursor().execute("CHECKPOINT")
    finally:
        done.set()
        for thread in threads:
            thread.join()


def test_no_module_leaves_a_query_result_open() -> None:
    """fetchone() leaves the rest of a result, and with it its transaction, open (see db.first)."""
    import ast

    package = Path(__file__).resolve().parents[2] / "composite"
    found = [
        f"{path.relative_to(package.parent)}:{node.lineno}"
        for path in sorted(package.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        # A result's fetchone() or fetchmany(n); Database.fetchone(sql) reads to the end.
        and (node.func.attr == "fetchmany" or (node.func.attr == "fetchone" and not node.args))
    ]
    assert found == [], "read results with composite.db.first() instead"


# Forty request threads query a table, then the process idles: what stays resident after.
_BURST = """
import sys, threading, time
from composite.db import Database

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

db = Database(sys.argv[1], threads=1).open()
db.write(lambda cur: cur.execute(
    "CREATE TABLE t AS SELECT range AS id, repeat('x', 100 + range % 200) AS body FROM range(50000)"
))

def queries():
    for _ in range(20):
        db.fetchall("SELECT id, body FROM t WHERE id % 97 = 0 ORDER BY body DESC LIMIT 20")
        db.fetchone("SELECT body FROM t WHERE id = ?", [5])
        db.fetchall("SELECT count(*) FROM t WHERE body LIKE '%y%'")

queries()
before = rss_mib()
threads = [threading.Thread(target=queries) for _ in range(40)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
time.sleep(3)
print(rss_mib() - before)
"""


def test_memory_that_a_burst_of_request_threads_freed_goes_back_to_the_system(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-c", _BURST, str(tmp_path / "burst.db")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # Measured: about -4 MiB with the allocator's background threads, +15 MiB without.
    assert float(done.stdout) < 6
