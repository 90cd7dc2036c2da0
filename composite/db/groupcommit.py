"""Group commit: writes submitted from many threads at once share one transaction and one commit.

A commit, the write lock's hand-over and the statements that touch shared rows (a
dictionary upsert, a version bump) cost about as much for one row as for sixteen. While one
batch is being written, the next requests queue; the first of them to get the turn writes
all that queued (up to a bound) in one transaction and hands each request its own result.
A lone request waits for nothing: its batch is itself.

If a batch fails, it is rolled back and every item in it is written again on its own, so
one bad item fails alone and nothing else is lost. DuckDB has no savepoints, so this is
the way to keep the items independent; ``apply`` must therefore have no effect outside
the database cursor it is given (it may be called twice for an item).

An item whose request's client has closed its connection by the time a batch would take
it is not written: its submitter gets ``ClientGone`` (composite/server/gone.py). Requests
queued behind the lock while the process was paused would otherwise all be written for
clients that gave up long ago, and a client that retried would have its write twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from composite.server.gone import Check, ClientGone, gone_check

if TYPE_CHECKING:
    from composite.db import Cursor, Database

Item = TypeVar("Item")
Result = TypeVar("Result")
# What a caller also writes in an item's transaction, given its result (see GroupCommit.submit).
Then = Callable[["Cursor", Any], None]

# Items per transaction: bounds how long one batch holds the write lock from other writers.
MAX_BATCH = 16


class _Ticket(Generic[Item, Result]):
    """One submitted item: its result or error once a batch has written it."""

    __slots__ = ("done", "error", "gone", "item", "ready", "result", "then", "weight")

    def __init__(
        self, item: Item, weight: int, gone: Check | None, then: Callable[[Cursor, Result], None] | None
    ) -> None:
        self.item = item
        self.weight = weight
        self.then = then
        self.gone = gone  # whether the submitting request's client has left, asked at each take
        self.done = False
        self.result: Result | None = None
        self.error: BaseException | None = None
        # Set when the item is written, or when its thread is handed the turn to write.
        self.ready = threading.Event()


class GroupCommit(Generic[Item, Result]):
    """Writes items in batches: ``apply(cursor, items)`` returns one result per item, in order."""

    def __init__(
        self,
        db: Database,
        apply: Callable[[Cursor, Sequence[Item]], Sequence[Result]],
        *,
        max_batch: int = MAX_BATCH,
        max_weight: int | None = None,
    ) -> None:
        self._db = db
        self._apply = apply
        self._max_batch = max_batch
        # e.g. bytes of text: a batch stops growing past it (its first item always goes in).
        self._max_weight = max_weight
        self._queue: list[_Ticket[Item, Result]] = []
        self._lock = threading.Lock()
        # True while some thread is writing batches; the others wait for their item.
        self._leading = False
        self.batches = 0
        self.items = 0

    def submit(
        self, item: Item, weight: int = 0, then: Callable[[Cursor, Result], None] | None = None
    ) -> Result:
        """Write one item (in a batch with whatever else is waiting) and return its result.

        ``then(cursor, result)`` runs in the same transaction after the item is written, so
        that what it writes (a record of the request) commits with the item or not at all.
        """
        gone = gone_check()
        if gone is not None and gone():
            raise ClientGone
        ticket: _Ticket[Item, Result] = _Ticket(item, weight, gone, then)
        with self._lock:
            self._queue.append(ticket)
            lead, self._leading = not self._leading, True
        if not lead:
            ticket.ready.wait()
        if not ticket.done:  # this thread has the turn
            self._lead(ticket)
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]

    def _lead(self, own: _Ticket[Item, Result]) -> None:
        """Write batches until this thread's own item is written, then pass the turn on."""
        try:
            while not own.done:
                batch = self._take()
                if batch:  # empty when every item taken had lost its client
                    self._write(batch)
        finally:
            with self._lock:
                if self._queue:
                    # The oldest waiter writes next, so that no request waits behind a stream.
                    self._queue[0].ready.set()
                else:
                    self._leading = False

    def _take(self) -> list[_Ticket[Item, Result]]:
        """The oldest waiting items, as many as one batch takes; those whose client has gone are settled."""
        with self._lock:
            for ticket in [t for t in self._queue[: self._max_batch] if t.gone is not None and t.gone()]:
                self._queue.remove(ticket)
                _settle(ticket, error=ClientGone())
            count, weight = 0, 0
            for ticket in self._queue[: self._max_batch]:
                weight += ticket.weight
                if count and self._max_weight is not None and weight > self._max_weight:
                    break
                count += 1
            batch, self._queue[:count] = self._queue[:count], []
        return batch

    def _write(self, batch: list[_Ticket[Item, Result]]) -> None:
        """Write a batch in one transaction; on failure, each item again in its own."""
        try:
            results = self._db.write(lambda cur: self._apply_all(cur, batch))
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0], error=exc)
            else:
                for ticket in batch:
                    self._write_alone(ticket)
            return
        except BaseException as exc:  # an interrupt: no item was written, tell every waiter
            for ticket in batch:
                _settle(ticket, error=exc)
            raise
        self.batches += 1
        self.items += len(batch)
        for ticket, result in zip(batch, results, strict=True):
            _settle(ticket, result=result)

    def _apply_all(self, cur: Cursor, batch: list[_Ticket[Item, Result]]) -> Sequence[Result]:
        results = self._apply(cur, [ticket.item for ticket in batch])
        for ticket, result in zip(batch, results, strict=True):
            if ticket.then is not None:
                ticket.then(cur, result)
        return results

    def _write_alone(self, ticket: _Ticket[Item, Result]) -> None:
        try:
            (result,) = self._db.write(lambda cur: self._apply_all(cur, [ticket]))
        except Exception as exc:
            _settle(ticket, error=exc)
        else:
            self.batches += 1
            self.items += 1
            _settle(ticket, result=result)


def _settle(
    ticket: _Ticket[Item, Result], result: Result | None = None, error: BaseException | None = None
) -> None:
    ticket.result, ticket.error = result, error
    ticket.done = True
    ticket.ready.set()
