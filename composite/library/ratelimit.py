"""Rate limits per client, kept in this process's memory.

One process serves every port, so one in-memory window is exact for the whole site; it
starts empty after a restart, which suits limits meant to slow abuse (the login
throttle, which must survive restarts, lives in the database instead). The windows come
from ``limits``, the maintained library under Flask-Limiter and SlowAPI: a moving
window per key, expired keys swept by the library's own timer.
"""

from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from composite.library.errors import TooManyAttempts


class RateLimiter:
    """Named budgets (``"10/hour"``) charged per key; over budget raises TooManyAttempts."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(
        self, spec: str, scope: str, key: str, message: str = "too many requests; try again later"
    ) -> None:
        """Charge one unit of ``spec`` to ``key`` within ``scope``; TooManyAttempts when over budget."""
        item = parse(spec)
        if self._limiter.hit(item, scope, key):
            return
        reset_at = self._limiter.get_window_stats(item, scope, key).reset_time
        raise TooManyAttempts(message, max(1, math.ceil(reset_at - time.time())))

    def check(
        self, spec: str, scope: str, key: str, message: str = "too many requests; try again later"
    ) -> None:
        """TooManyAttempts if ``key`` has no unit of ``spec`` left, charging nothing (``record`` does)."""
        item = parse(spec)
        if self._limiter.test(item, scope, key):
            return
        reset_at = self._limiter.get_window_stats(item, scope, key).reset_time
        raise TooManyAttempts(message, max(1, math.ceil(reset_at - time.time())))

    def record(self, spec: str, scope: str, key: str) -> None:
        """Charge one unit of ``spec`` to ``key`` after the work it paid for; never refuses."""
        self._limiter.hit(parse(spec), scope, key)

    def remaining(self, spec: str, scope: str, key: str) -> int:
        """How many units of ``spec`` are left for ``key`` in the current window."""
        return self._limiter.get_window_stats(parse(spec), scope, key).remaining
