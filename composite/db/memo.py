"""Results of read functions kept until the next committed write: exact, for a single writer.

The process is its database's only writer and counts its commits (``Database.generation``),
so a result computed while the count stayed the same is still the answer. It is kept
under that count and served until the count moves; one computed while a write committed
is returned to its caller but not kept. Each value is weighed (its caller says how, in
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
    """A bounded map from a key to the value computed at the current write generation."""

    def __init__(self, generation: Callable[[], int], max_bytes: int = 16 * 1024 * 1024) -> None:
        self.generation = generation
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()  # request threads share it
        self._seen = -1
        self._values: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T], weigh: Callable[[T], int] = lambda _: 1024) -> T:
        """The value for key, from compute() at most once per write generation."""
        generation = self.generation()
        with self._lock:
            if generation != self._seen:  # every value kept so far may be out of date
                self._values.clear()
                self.bytes = 0
                self._seen = generation
            elif key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key][0]
            self.misses += 1
        value = compute()  # outside the lock: other keys are served meanwhile
        check_immutable(value)  # once per computation, never per hit: 0.1 ms for a page of 20 prompts
        weight = weigh(value)
        with self._lock:
            if self.generation() == generation == self._seen and weight <= self.max_bytes:
                _, old = self._values.pop(key, (None, 0))
                self._values[key] = (value, weight)
                self.bytes += weight - old
                while self.bytes > self.max_bytes:
                    _, (_, dropped) = self._values.popitem(last=False)
                    self.bytes -= dropped
        return value

    def __len__(self) -> int:
        return len(self._values)
