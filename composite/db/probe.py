"""Probe: whether the database answers a query, one query for every check waiting at once.

A health endpoint that runs its own query on its own thread costs a thread hop and a
DuckDB query per request: about 1 ms of CPU each with 32 checks in flight, which is
what a flood of anonymous health checks could take from a port. Here checks wait on the
event loop for the next probe query, and one runs at a time: each answer still comes from
a query that *started after* the check arrived (a check that arrives while one runs waits
for the one after it), so a stuck or closed database is never reported as answering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio.to_thread

# A check that has waited this long reports the database as not answering.
PROBE_TIMEOUT_SECONDS = 5.0


class ProbeTimeoutError(TimeoutError):
    """The database did not answer the probe query in time."""


class Probe:
    """Concurrent checks share the next run of ``query`` (a blocking call run in a thread)."""

    def __init__(self, query: Callable[[], object], timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
        self.query = query
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next: asyncio.Future[BaseException | None] | None = None  # the round not yet started
        self._runner: asyncio.Task[None] | None = None  # runs rounds while checks wait for one
        self.rounds = 0  # queries run so far

    async def check(self) -> None:
        """Return when a query started after this call has succeeded; raise what it raised."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test's): nothing of the old one is valid
            self._loop, self._next, self._runner = loop, None, None
        if self._next is None:
            self._next = loop.create_future()
            # One timer per round, not per check: a stuck query fails its waiters, and the
            # checks after them wait in the next round, which starts when it returns.
            timer = loop.call_later(self.timeout, _expire, self._next, self.timeout)
            self._next.add_done_callback(lambda _: timer.cancel())
        waiting = self._next
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run())
        # Shielded: a check whose client went away must not cancel the others' answer.
        failure = await asyncio.shield(waiting)
        if failure is not None:
            raise failure

    async def _run(self) -> None:
        """Run rounds while checks are waiting for one; each round answers every check before it."""
        while self._next is not None:
            round_, self._next = self._next, None
            self.rounds += 1
            try:
                await anyio.to_thread.run_sync(self.query)
            except Exception as exc:  # the checks report it; the probe goes on
                failure: Exception | None = exc
            else:
                failure = None
            if not round_.done():
                round_.set_result(failure)


def _expire(waiting: asyncio.Future[BaseException | None], timeout: float) -> None:
    if not waiting.done():
        waiting.set_result(ProbeTimeoutError(f"the database did not answer within {timeout:g} s"))
