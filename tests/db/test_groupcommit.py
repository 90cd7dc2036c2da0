"""GroupCommit: concurrent writes share transactions, each gets its own result, a bad one fails alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from composite.db import Cursor, Database, QueryError
from composite.db.groupcommit import GroupCommit


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "group.db").open()
    database.write(lambda cur: cur.execute("CREATE TABLE t (n INTEGER PRIMARY KEY, doubled INTEGER)"))
    yield database
    database.close()


def insert(cur: Cursor, items: Sequence[int]) -> list[int]:
    """Insert each n with its double; the result is the row read back inside the transaction."""
    cur.execute("INSERT INTO t SELECT n, 2 * n FROM unnest(?::INTEGER[]) u(n)", [list(items)])
    rows = dict(
        cur.execute(
            "SELECT n, doubled FROM t WHERE n IN (SELECT unnest(?::INTEGER[]))", [list(items)]
        ).fetchall()
    )
    return [rows[n] for n in items]


def submit_all(group: GroupCommit[int, int], items: list[int], threads: int) -> dict[int, object]:
    """Submit the items from many threads at once; each item's result or the exception raised."""
    outcome: dict[int, object] = {}
    start = threading.Barrier(threads)

    def work(mine: list[int]) -> None:
        start.wait()
        for n in mine:
            try:
                outcome[n] = group.submit(n)
            except Exception as exc:
                outcome[n] = exc

    workers = [threading.Thread(target=work, args=(items[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not any(worker.is_alive() for worker in workers)
    return outcome


def slowed(apply, seconds: float = 0.005):
    """apply, holding the transaction a little longer, so that others queue meanwhile."""

    def slow(cur: Cursor, items: Sequence[int]) -> list[int]:
        time.sleep(seconds)
        return apply(cur, items)

    return slow


def test_concurrent_items_share_transactions_and_each_gets_its_own_result(db: Database) -> None:
    group = GroupCommit(db, slowed(insert), max_batch=8)
    before = db.generation
    outcome = submit_all(group, list(range(1, 201)), threads=16)
    assert outcome == {n: 2 * n for n in range(1, 201)}
    assert db.fetchone("SELECT count(*), sum(doubled) FROM t") == (200, sum(2 * n for n in range(1, 201)))
    # Fewer commits than items, and never more items in one than the bound.
    assert group.items == 200
    assert group.batches < 100
    assert db.generation - before == group.batches
    assert group.batches >= 200 / 8


def test_a_lone_item_is_written_at_once(db: Database) -> None:
    group = GroupCommit(db, insert)
    assert group.submit(21) == 42
    assert (group.batches, group.items) == (1, 1)


def test_a_failing_item_fails_alone_and_the_rest_of_its_batch_is_written(db: Database) -> None:
    db.write(lambda cur: cur.execute("INSERT INTO t VALUES (13, 0)"))  # 13 again breaks the key
    group = GroupCommit(db, slowed(insert), max_batch=16)
    outcome = submit_all(group, list(range(1, 41)), threads=8)
    assert isinstance(outcome.pop(13), QueryError)
    assert outcome == {n: 2 * n for n in range(1, 41) if n != 13}
    rows = dict(db.fetchall("SELECT n, doubled FROM t"))
    assert rows == {13: 0, **{n: 2 * n for n in range(1, 41) if n != 13}}


def test_an_error_reaches_the_caller_as_raised(db: Database) -> None:
    def refuse(cur: Cursor, items: Sequence[int]) -> list[int]:
        raise ValueError(f"no {items[0]}")

    with pytest.raises(ValueError, match="no 7"):
        GroupCommit(db, refuse).submit(7)
    assert db.fetchone("SELECT count(*) FROM t") == (0,)


def test_a_batch_stops_growing_at_its_weight(db: Database) -> None:
    sizes: list[int] = []

    def record(cur: Cursor, items: Sequence[int]) -> list[int]:
        sizes.append(len(items))
        return insert(cur, items)

    group = GroupCommit(db, slowed(record), max_batch=64, max_weight=30)
    items = list(range(1, 121))
    start = threading.Barrier(12)

    def work(mine: list[int]) -> None:
        start.wait()
        for n in mine:
            group.submit(n, weight=10)

    workers = [threading.Thread(target=work, args=(items[i::12],)) for i in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sum(sizes) == 120
    assert max(sizes) <= 3  # 30 of weight is three items of 10
    assert db.fetchone("SELECT count(*) FROM t") == (120,)


def test_database_keeps_one_group_per_function(db: Database) -> None:
    assert db.group_commit(insert) is db.group_commit(insert)
    assert db.group_commit(insert) is not db.group_commit(slowed(insert))
