"""Results of read functions kept until a write changes what they read: exact, for a single writer.

The process is its database's only writer and counts its commits per scope
(``composite.db.scopes``), so a result whose scopes' counts stayed the same is still the
answer. It is kept with the counts it read and served while none of them moves; one
computed while a write committed to a scope it read is returned to its caller but not
kept. A value read inside an answer being recorded (a page) adds its scopes to that
answer's, on a hit as on a miss. Each value is weighed (its caller says how, in
bytes, roughly) and the least recently used go once the total passes ``max_bytes``.

Every caller of a key is handed the same object, so a value must be immutable all the
way down (tuples, frozen dataclasses, strings, numbers, times): one caller sorting or
appending to a kept list would change every later answer. A value that is not is
refused with TypeError before it is kept, whatever the key, so the mistake shows in the
first test that computes it rather than as a wrong page long after.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from composite.db.scopes import Reads, Scopes, current_reads

T = TypeVar("T")

# Values that cannot change once made.
_ATOMS = (type(None), bool, int, float, str, bytes, Decimal, UUID, date, datetime, time, timedelta)


def check_immutable(value: object, path: str = "value") -> None:
    """Raise TypeError unless nothing reachable from value can be changed in place."""
    if isinstance(value, _ATOMS):
        return
    if isinstance(value, tuple | frozenset):
        for index, item in enumerate(value):
            check_immutable(item, f"{path}[{index}]")
        return
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            raise TypeError(f"{path} is a {type(value).__name__}, not a frozen dataclass")
        for field in dataclasses.fields(value):
            check_immutable(getattr(value, field.name), f"{path}.{field.name}")
        return
    raise TypeError(f"{path} is a {type(value).__name__}: a kept value must be immutable")


class ExactMemo:
    """A bounded map from a key to a value kept while nothing it read has changed (see scopes.py)."""

    def __init__(
        self,
        scopes: Scopes,
        max_bytes: int = 16 * 1024 * 1024,
        scope: str | None = None,
        writing: Callable[[], bool] = lambda: False,
    ) -> None:
        self.scopes = scopes
        # True in a thread with a write transaction open: what it reads may never commit,
        # and it must see its own writes, so it neither keeps nor is served kept values.
        self.writing = writing
        self.max_bytes = max_bytes
        # A memo of one scope: every computation reads that scope only (who a token is).
        self.scope = scope
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()  # request threads share it
        self._values: OrderedDict[Hashable, tuple[Any, int, Reads]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T], weigh: Callable[[T], int] = lambda _: 1024) -> T:
        """The value for key, from compute() at most once while what it read stays unchanged."""
        if self.writing():
            return compute()
        with self._lock:
            kept = self._values.get(key)
            if kept is not None and self.scopes.fresh(kept[2]):
                self._values.move_to_end(key)
                self.hits += 1
            else:
                if kept is not None:  # out of date: its room goes now, not when it ages out
                    del self._values[key]
                    self.bytes -= kept[1]
                kept = None
                self.misses += 1
        if kept is not None:
            _record_in_answer(kept[2])
            return kept[0]
        reads, token = self.scopes.start()
        try:
            if self.scope is None:
                value = compute()  # outside the lock: other keys are served meanwhile
            else:
                with self.scopes.reading((self.scope,)):
                    value = compute()
        finally:
            self.scopes.stop(token)
        _record_in_answer(reads)
        check_immutable(value)  # once per computation, never per hit: 0.1 ms for a page of 20 prompts
        weight = weigh(value)
        with self._lock:
            # A write committed to something it read while it was computed: it may be older
            # than the data, so it is given to this caller and not kept.
            if self.scopes.fresh(reads) and weight <= self.max_bytes:
                _, old, _ = self._values.pop(key, (None, 0, None))
                self._values[key] = (value, weight, reads)
                self.bytes += weight - old
                while self.bytes > self.max_bytes:
                    _, (_, dropped, _) = self._values.popitem(last=False)
                    self.bytes -= dropped
        return value

    def __len__(self) -> int:
        return len(self._values)


def _record_in_answer(reads: Reads) -> None:
    """An answer being made of this value read what the value read."""
    answer = current_reads()
    if answer is not None:
        answer.merge(reads)
