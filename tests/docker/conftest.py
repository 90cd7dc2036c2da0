"""Fixtures of the container test: the private engine (skip, or fail with REQUIRE_DOCKER=1), a report."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.docker.engine import Engine, or_unavailable, private_engine, processes_under

REPORT = pytest.StashKey[dict[str, str]]()


@pytest.fixture(scope="session")
def report(request: pytest.FixtureRequest) -> dict[str, str]:
    """Measurements printed at the end of the run (times, image size)."""
    return request.config.stash.setdefault(REPORT, {})


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """A private dockerd for the whole session; afterwards nothing of it may be left."""
    with contextlib.ExitStack() as stack:
        running = or_unavailable(lambda: stack.enter_context(private_engine()))
        yield running
    assert running.process.returncode is not None, "dockerd is still running"
    assert not processes_under(running.home), "processes of the engine are still running"
    assert not running.home.exists(), f"{running.home} was not removed"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the measurements of the container test."""
    measured = config.stash.get(REPORT, {})
    if measured:
        terminalreporter.section("container test")
        for name, value in measured.items():
            terminalreporter.write_line(f"{name}: {value}")
