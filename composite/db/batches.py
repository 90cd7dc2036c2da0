"""Many items written in short transactions, each sized to hold the write lock about as long as asked."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from composite.db import Cursor, Database

T = TypeVar("T")
R = TypeVar("R")


def write_in_batches(
    db: Database,
    items: Sequence[T],
    write: Callable[[Cursor, Sequence[T], Any], list[R]],
    *,
    prepare: Callable[[Sequence[T]], Any] = lambda batch: None,
    aim: float,
    first: int,
    largest: int,
) -> list[R]:
    """``write(cur, batch, prepare(batch))`` over consecutive batches, one transaction each; results joined.

    ``prepare`` runs before the write lock is taken: work that need not hold it (weighing
    text for search) belongs there, so that more items fit in each hold.

    The first batch has ``first`` items; each next one as many as the last one's CPU time
    says fit in ``aim`` seconds (at most twice the last, and ``largest``). CPU time,
    because on a busy machine wall time stretches whatever the size, and smaller batches
    would only pay a transaction's fixed cost more often. An exception stops the work:
    the batches before it stay committed, and ``BatchesInterrupted`` says how many items
    they held.
    """
    done: list[R] = []
    size, start = max(1, first), 0
    while start < len(items):
        batch = items[start : start + size]
        try:
            prepared = prepare(batch)
            started = time.thread_time()
            done += db.write(lambda cur, batch=batch, prepared=prepared: write(cur, batch, prepared))
        except Exception as exc:
            if not start:
                raise
            raise BatchesInterrupted(start, len(items)) from exc
        took = time.thread_time() - started
        start += len(batch)
        fits = int(len(batch) * aim / max(took, 1e-4))
        size = max(1, min(largest, size * 2, fits))
        if start < len(items):
            # Let a writer waiting for the lock take it before the next batch does.
            time.sleep(0.001)
    return done


class BatchesInterrupted(RuntimeError):
    """A batch failed after others had committed: ``written`` of ``total`` items stay written."""

    def __init__(self, written: int, total: int) -> None:
        super().__init__(f"stopped after {written} of {total} items")
        self.written = written
        self.total = total
