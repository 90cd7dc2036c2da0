"""Stopping and crashing lose nothing: SIGTERM under load, kill -9 mid-write, restart cycles."""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.support.client import register
from tests.support.process import ServerProcess

pytestmark = pytest.mark.slow


@dataclass
class Ledger:
    """What the clients sent and what the server acknowledged."""

    acknowledged: set[str] = field(default_factory=set)
    unanswered: set[str] = field(default_factory=set)  # writes whose outcome the client never saw
    responses: int = 0
    refused: int = 0
    incomplete: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    in_flight_at_stop: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _titles_in(database: Path) -> tuple[set[str], int, int]:
    """Titles stored, and rows missing their version or their index (must be zero)."""
    with duckdb.connect(str(database)) as con:
        titles = {row[0] for row in con.execute("SELECT title FROM prompts").fetchall()}
        no_version = con.execute(
            "SELECT count(*) FROM prompts p WHERE NOT EXISTS"
            " (SELECT 1 FROM prompt_versions v WHERE v.prompt_id = p.id AND v.version = p.version)"
        ).fetchone()[0]
        no_index = con.execute(
            "SELECT count(*) FROM prompts p"
            " WHERE NOT EXISTS (SELECT 1 FROM search_terms s WHERE s.prompt_id = p.id)"
        ).fetchone()[0]
    return titles, no_version, no_index


def _request(
    client: httpx.Client, server: ServerProcess, token: str, kind: int, title: str
) -> httpx.Response:
    """Kinds 0-2 write a prompt; 3-6 read or wait on either port."""
    close = {"Connection": "close"}
    if kind <= 2:
        auth = {"Authorization": f"Bearer {token}", **close}
        body = {"title": title, "body": f"body {title}", "visibility": "public"}
        return client.post(f"{server.backend}/api/prompts", headers=auth, json=body)
    url = {
        3: f"{server.backend}/api/prompts?limit=5",
        4: f"{server.frontend}/",
        5: f"{server.backend}/api/_sleep?seconds=0.4",
        6: f"{server.frontend}/_sleep?seconds=0.4",
    }[kind]
    return client.get(url, headers=close)


def _load(
    server: ServerProcess,
    token: str,
    ledger: Ledger,
    events: tuple[threading.Event, threading.Event],
    worker: int,
    reads: bool,
) -> None:
    """One client: a mix of writes and reads on both ports until told to stop."""
    stop, signalled = events
    n = 0
    with httpx.Client(timeout=15) as client:
        while not stop.is_set():
            n += 1
            kind = n % 7 if reads else 0
            writing = kind <= 2
            title = f"load {worker} {n}"
            sent_before_signal = not signalled.is_set()
            try:
                response = _request(client, server, token, kind, title)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                with ledger.lock:
                    ledger.refused += 1
                time.sleep(0.01)
                continue
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                with ledger.lock:
                    # Closed before any byte of a response: refused, and a write may or may not
                    # have landed. Cut off after the response began: a broken promise.
                    if isinstance(exc, httpx.ReadError) or "without sending" in str(exc):
                        ledger.refused += 1
                        if writing:
                            ledger.unanswered.add(title)
                    else:
                        ledger.incomplete.append(f"{kind}: {exc}")
                continue
            with ledger.lock:
                ledger.responses += 1
                if sent_before_signal and signalled.is_set():
                    ledger.in_flight_at_stop += 1
                if response.status_code >= 500:
                    ledger.server_errors.append(f"{response.status_code} {response.request.url}")
                elif writing and response.status_code == 201:
                    ledger.acknowledged.add(title)


def test_sigterm_under_load_answers_every_accepted_request(tmp_path: Path) -> None:
    shutdown_timeout = 5
    server = ServerProcess(
        tmp_path, env={"TEST_ENDPOINTS": "true", "SHUTDOWN_TIMEOUT": str(shutdown_timeout)}
    )
    server.start()
    token = register(server)
    ledger, stop, signalled = Ledger(), threading.Event(), threading.Event()
    clients = [
        threading.Thread(target=_load, args=(server, token, ledger, (stop, signalled), i, True))
        for i in range(64)
    ]
    for client in clients:
        client.start()
    time.sleep(2.0)
    signalled.set()
    stopped_at = time.monotonic()
    server.signal(signal.SIGTERM)
    status = server.wait(timeout=shutdown_timeout + 2)
    exit_seconds = time.monotonic() - stopped_at
    stop.set()
    for client in clients:
        client.join()

    assert status in (0, -signal.SIGTERM), server.log()
    assert exit_seconds < shutdown_timeout + 2
    assert ledger.incomplete == []
    assert ledger.server_errors == []
    assert ledger.in_flight_at_stop > 0  # the stop really happened under load
    assert len(ledger.acknowledged) > 50
    assert not Path(f"{server.database}.wal").exists()
    stored, no_version, no_index = _titles_in(server.database)
    assert ledger.acknowledged <= stored
    assert stored <= ledger.acknowledged | ledger.unanswered  # nothing the server never answered about
    assert (no_version, no_index) == (0, 0)
    print(
        f"\nSIGTERM under load: {ledger.responses} responses, {ledger.in_flight_at_stop} in flight at stop, "
        f"{len(ledger.acknowledged)} writes acknowledged and found, {ledger.refused} refused, exit in "
        f"{exit_seconds:.2f}s"
    )
    restarted = ServerProcess(tmp_path, backend_port=server.backend_port, frontend_port=server.frontend_port)
    restarted.start()
    try:
        total = httpx.get(f"{restarted.backend}/api/prompts?limit=1").json()["total"]
        assert total == len(stored)
    finally:
        restarted.stop()


def test_kill_9_mid_write_ten_times_loses_no_acknowledged_write(tmp_path: Path) -> None:
    ledger = Ledger()
    server = ServerProcess(tmp_path)
    rng = random.Random(9)
    token = ""
    for round_number in range(10):
        server = ServerProcess(tmp_path, backend_port=server.backend_port, frontend_port=server.frontend_port)
        server.start()
        token = token or register(server)
        stop, signalled = threading.Event(), threading.Event()
        writers = [
            threading.Thread(
                target=_load, args=(server, token, ledger, (stop, signalled), 100 * round_number + i, False)
            )
            for i in range(8)
        ]
        for writer in writers:
            writer.start()
        time.sleep(rng.uniform(0.5, 1.5))
        server.signal(signal.SIGKILL)
        assert server.wait(timeout=5) == -signal.SIGKILL
        stop.set()
        for writer in writers:
            writer.join()
        stored, no_version, no_index = _titles_in(server.database)  # opens without manual repair
        missing = ledger.acknowledged - stored
        assert missing == set(), f"round {round_number}: acknowledged but lost: {sorted(missing)[:5]}"
        assert stored <= ledger.acknowledged | ledger.unanswered
        assert (no_version, no_index) == (0, 0)
    assert ledger.server_errors == []
    assert len(ledger.acknowledged) > 100
    print(f"\nkill -9 x10: {len(ledger.acknowledged)} writes acknowledged, all found after restarts")


def test_ten_start_stop_cycles_leave_no_files_or_growth(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    sizes = []
    for cycle in range(10):
        server = ServerProcess(tmp_path, backend_port=server.backend_port, frontend_port=server.frontend_port)
        server.start()
        token = register(server, f"cycle{cycle}")
        created = httpx.post(
            f"{server.backend}/api/prompts",
            headers={"Authorization": f"Bearer {token}"},
            json={"title": f"cycle {cycle}", "body": "x" * 1000},
        )
        assert created.status_code == 201
        assert server.stop() in (0, -signal.SIGTERM)
        assert sorted(p.name for p in server.database.parent.iterdir()) == ["app.db"]
        sizes.append(server.database.stat().st_size)
    # DuckDB alternates between block layouts at each checkpoint; what matters is that
    # ten small writes and restarts do not make the file grow from cycle to cycle.
    assert max(sizes[-3:]) <= max(sizes[:3]) + 1024 * 1024, sizes
    print(f"\n10 start/stop cycles: database {sizes[0]} -> {sizes[-1]} bytes")
