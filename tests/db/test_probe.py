"""Probe: checks waiting at once share one query, and each answer comes from a query begun after it."""

from __future__ import annotations

import asyncio
import threading

import pytest

from composite.db import Database, DatabaseClosedError
from composite.db.probe import Probe, ProbeTimeoutError


class Gate:
    """A probe query that counts its runs and, while closed, blocks until opened."""

    def __init__(self) -> None:
        self.runs = 0
        self.running = threading.Event()
        self.opened = threading.Event()
        self.open()

    def __call__(self) -> None:
        self.runs += 1
        self.running.set()
        assert self.opened.wait(10)

    def close(self) -> None:
        """Make the next query block until open() (it may not have started yet)."""
        self.opened.clear()

    def open(self) -> None:
        """Let every blocked query return."""
        self.opened.set()

    async def started(self) -> None:
        """Wait, without blocking the event loop, until a query has started."""
        assert await asyncio.to_thread(self.running.wait, 10)


def test_two_hundred_checks_at_once_share_their_queries_on_the_real_database(db: Database) -> None:
    probe = Probe(lambda: db.fetchone("SELECT 1"))

    async def flood() -> None:
        await asyncio.gather(*(probe.check() for _ in range(200)))

    asyncio.run(flood())
    assert probe.rounds <= 2


def test_a_check_that_arrives_while_a_query_runs_waits_for_the_next_one() -> None:
    gate = Gate()
    probe = Probe(gate)

    async def scenario() -> None:
        gate.close()
        first = asyncio.create_task(probe.check())
        await gate.started()
        later = asyncio.create_task(probe.check())
        await asyncio.sleep(0.05)
        assert not later.done()
        gate.open()
        await first
        await later
        # The later check's answer is from a query that started after it: the second one.
        assert gate.runs == 2

    asyncio.run(scenario())


def test_a_failing_database_is_reported_and_a_recovered_one_answers_again(db: Database) -> None:
    broken = {"now": True}

    def query() -> None:
        if broken["now"]:
            raise DatabaseClosedError("database is closed")
        db.fetchone("SELECT 1")

    probe = Probe(query)

    async def scenario() -> None:
        with pytest.raises(DatabaseClosedError):
            await probe.check()
        broken["now"] = False
        await probe.check()

    asyncio.run(scenario())


def test_a_stuck_query_times_out_its_checks_and_the_probe_recovers() -> None:
    gate = Gate()
    probe = Probe(gate, timeout=0.2)

    async def scenario() -> None:
        gate.close()
        with pytest.raises(ProbeTimeoutError, match=r"did not answer within 0\.2 s"):
            await probe.check()
        gate.open()
        await probe.check()  # after the stuck one returns, a new query answers

    asyncio.run(scenario())


def test_a_check_whose_client_left_does_not_cancel_the_others() -> None:
    gate = Gate()
    probe = Probe(gate)

    async def scenario() -> None:
        gate.close()
        leaving = asyncio.create_task(probe.check())
        staying = asyncio.create_task(probe.check())
        await gate.started()
        leaving.cancel()
        gate.open()
        await staying
        assert leaving.cancelled()

    asyncio.run(scenario())
