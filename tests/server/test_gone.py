"""client_gone(): a request's work is skipped once its client has closed the connection."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from composite.db import Cursor, Database
from composite.server.gone import ClientGone, client_gone, ensure_wanted, watching


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "gone.db").open()
    database.write(lambda cur: cur.execute("CREATE TABLE t (n INTEGER)"))
    yield database
    database.close()


def insert(cur: Cursor, items: Sequence[int]) -> list[int]:
    cur.execute("INSERT INTO t SELECT unnest(?::INTEGER[])", [list(items)])
    return list(items)


def as_request(gone: list[bool], work: object) -> object:
    """Run ``work()`` as a request's code would, with ``gone[0]`` telling whether its client left."""
    context = contextvars.copy_context()
    context.run(watching, lambda: gone[0])
    return context.run(work)  # type: ignore[arg-type]


def test_outside_a_request_no_client_is_gone() -> None:
    assert client_gone() is False
    ensure_wanted()


def test_a_request_sees_its_own_client_only() -> None:
    assert as_request([True], client_gone) is True
    assert as_request([False], client_gone) is False
    assert client_gone() is False  # nothing leaked into this context
    with pytest.raises(ClientGone):
        as_request([True], ensure_wanted)


def test_group_commit_refuses_an_item_whose_client_has_gone(db: Database) -> None:
    group = db.group_commit(insert)
    with pytest.raises(ClientGone):
        as_request([True], lambda: group.submit(1))
    assert as_request([False], lambda: group.submit(2)) == 2
    assert db.fetchall("SELECT n FROM t") == [(2,)]


def test_a_queued_item_whose_client_leaves_while_it_waits_is_skipped(db: Database) -> None:
    """Items queue behind a long batch; one client leaves meanwhile: the others are written, it is not."""
    release = threading.Event()

    def slow_insert(cur: Cursor, items: Sequence[int]) -> list[int]:
        if 0 in items:
            release.wait(10)
        return insert(cur, items)

    group = db.group_commit(slow_insert)
    clients = {n: [False] for n in range(4)}
    outcome: dict[int, object] = {}

    def submit(n: int) -> None:
        try:
            outcome[n] = as_request(clients[n], lambda: group.submit(n))
        except ClientGone as exc:
            outcome[n] = exc

    first = threading.Thread(target=submit, args=(0,))
    first.start()
    while not group._leading:  # the first item's batch holds the turn
        pass
    others = [threading.Thread(target=submit, args=(n,)) for n in (1, 2, 3)]
    for thread in others:
        thread.start()
    while len(group._queue) < 3:  # the first is being written, the rest wait
        pass
    clients[2][0] = True  # this client gives up while its item waits
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert isinstance(outcome[2], ClientGone)
    assert {n: outcome[n] for n in (0, 1, 3)} == {0: 0, 1: 1, 3: 3}
    assert sorted(row[0] for row in db.fetchall("SELECT n FROM t")) == [0, 1, 3]
