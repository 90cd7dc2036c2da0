"""ExactMemo and the write counters: results kept until a commit to what they read, never after it."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from composite.db import Database
from composite.db.memo import ExactMemo
from composite.db.scopes import Scopes


def test_a_value_is_computed_once_per_generation(tmp_path: Path) -> None:
    db = Database(tmp_path / "memo.db").open()
    try:
        db.write(lambda cur: cur.execute("CREATE TABLE t (n INTEGER)"))
        db.write(lambda cur: cur.execute("INSERT INTO t VALUES (1)"))

        def total() -> int:
            row = db.fetchone("SELECT sum(n) FROM t")
            assert row is not None
            return int(row[0])

        assert [db.memo.get("sum", total) for _ in range(3)] == [1, 1, 1]
        assert (db.memo.hits, db.memo.misses) == (2, 1)
        before = db.generation
        db.write(lambda cur: cur.execute("INSERT INTO t VALUES (2)"))
        assert db.generation == before + 1
        assert db.memo.get("sum", total) == 3  # the commit made the kept 1 worthless
    finally:
        db.close()


def test_a_rolled_back_transaction_does_not_move_the_generation(tmp_path: Path) -> None:
    db = Database(tmp_path / "memo.db").open()
    try:
        before = db.generation

        def fail(cur: object) -> None:
            raise ValueError("no")

        with pytest.raises(ValueError, match="no"):
            db.write(fail)
        assert db.generation == before
    finally:
        db.close()


def test_a_value_computed_while_a_write_committed_is_returned_but_not_kept() -> None:
    scopes = Scopes()
    memo = ExactMemo(scopes)

    def compute_across_a_commit() -> str:
        scopes.committed(())
        return "old data"

    assert memo.get("k", compute_across_a_commit) == "old data"
    assert memo.get("k", lambda: "new data") == "new data"
    assert memo.get("k", lambda: "never asked") == "new data"


def test_the_weight_of_what_is_kept_is_bounded() -> None:
    memo = ExactMemo(Scopes(), max_bytes=100)
    for n in range(10):
        memo.get(n, lambda n=n: n, lambda _: 30)
    assert memo.bytes <= 100
    assert len(memo) == 3
    assert memo.get(9, lambda: -1) == 9  # the most recent stay
    assert memo.get(0, lambda: -1) == -1
    memo.get("huge", lambda: "x", lambda _: 1000)  # heavier than the whole budget: not kept
    assert memo.get("huge", lambda: "again") == "again"


def test_threads_sharing_a_memo_always_get_the_current_value() -> None:
    scopes = Scopes()
    memo = ExactMemo(scopes)
    wrong: list[tuple[int, int]] = []

    def read() -> None:
        for _ in range(2000):
            seen = scopes.generation
            value = memo.get("g", lambda: scopes.generation)
            if value < seen:
                wrong.append((value, seen))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    for _ in range(500):
        scopes.committed(())
    for thread in readers:
        thread.join()
    assert wrong == []


def test_a_scope_memo_lasts_until_a_commit_that_touches_its_scope(tmp_path: Path) -> None:
    from composite.db import touch

    db = Database(tmp_path / "memo.db").open()
    try:
        db.write(lambda cur: cur.execute("CREATE TABLE t (n INTEGER)"))
        memo = db.scope_memo("t")
        calls: list[int] = []

        def count() -> int:
            calls.append(1)
            return len(db.fetchall("SELECT n FROM t"))

        assert memo.get("n", count) == 0
        db.write(lambda cur: touch(cur, "other"))  # another scope
        assert memo.get("n", count) == 0
        assert len(calls) == 1
        db.write(lambda cur: cur.execute("CREATE TABLE other (n INTEGER)"))  # names no scope: all move
        assert memo.get("n", count) == 0
        assert len(calls) == 2

        def fail(cur: object) -> None:
            touch(cur, "t")  # type: ignore[arg-type]
            raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            db.write(fail)
        assert memo.get("n", count) == 0  # a rollback changed nothing
        assert len(calls) == 2

        def insert(cur: object) -> None:
            cur.execute("INSERT INTO t VALUES (1)")  # type: ignore[attr-defined]
            touch(cur, "t")  # type: ignore[arg-type]

        db.write(insert)
        assert memo.get("n", count) == 1
        assert len(calls) == 3
        with pytest.raises(RuntimeError, match=r"inside Database\.transaction"):
            touch(db.cursor(), "t")
    finally:
        db.close()


@dataclasses.dataclass(frozen=True)
class Frozen:
    names: tuple[str, ...]


@dataclasses.dataclass
class Loose:
    name: str


@pytest.mark.parametrize(
    "value",
    [
        [1, 2],
        {"a": 1},
        {1},
        bytearray(b"x"),
        (1, [2]),
        Frozen(["a"]),
        Loose("a"),
        (Frozen(("a",)), Loose("b")),
    ],
)
def test_a_value_that_could_be_changed_in_place_is_refused_and_not_kept(value: object) -> None:
    memo = ExactMemo(Scopes())
    with pytest.raises(TypeError, match=r"immutable|frozen"):
        memo.get("key", lambda: value)
    assert len(memo) == 0


def test_immutable_values_all_the_way_down_are_kept() -> None:
    memo = ExactMemo(Scopes())
    value = (Frozen(("a", "b")), 1, None, "s", frozenset({2}), datetime(2026, 1, 1), uuid.uuid4())
    assert memo.get("key", lambda: value) is value
    assert memo.get("key", lambda: ()) is value  # kept: not computed again
