"""Overload and slow clients: excess load is answered fast, slow peers block no one."""

from __future__ import annotations

import asyncio
import select
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from composite.server.protocol import REQUEST_TIMEOUT_RESPONSE
from tests.support.client import register
from tests.support.process import ServerProcess

pytestmark = pytest.mark.slow


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _burst(urls: list[str], connections: int) -> tuple[dict[int | str, int], float]:
    """Open `connections` requests at once; count statuses and time the slowest answer."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=0)
    counts: dict[int | str, int] = {}
    slowest = 0.0
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one(url: str) -> None:
            nonlocal slowest
            started = time.monotonic()
            try:
                status: int | str = (await client.get(url)).status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            slowest = max(slowest, time.monotonic() - started)
            counts[status] = counts.get(status, 0) + 1

        await asyncio.gather(*(one(urls[i % len(urls)]) for i in range(connections)))
    return counts, slowest


def test_500_concurrent_connections_are_answered_and_the_process_recovers(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"LIMIT_CONCURRENCY": "100", "TEST_ENDPOINTS": "true"}).start()
    try:
        token = register(server)
        for n in range(20):
            httpx.post(
                f"{server.backend}/api/prompts",
                headers={"Authorization": f"Bearer {token}"},
                json={"title": f"prompt {n}", "body": "text " * 200, "visibility": "public"},
            )
        assert server.proc is not None
        before = rss_kib(server.proc.pid)
        urls = [
            f"{server.backend}/api/_sleep?seconds=0.5",
            f"{server.frontend}/_sleep?seconds=0.5",
            f"{server.backend}/api/prompts?q=text",
            f"{server.frontend}/",
        ]
        peak = before
        for _ in range(3):
            counts, slowest = asyncio.run(_burst(urls, 500))
            peak = max(peak, rss_kib(server.proc.pid))
            errors = {k: v for k, v in counts.items() if k not in (200, 503)}
            assert errors == {}, counts
            assert counts.get(503, 0) > 0, counts  # the limit turned excess away...
            # ...and served what fits under it: the limit counts requests in flight, so a
            # burst of connections does not turn everyone away.
            assert counts.get(200, 0) >= 50, counts
            assert slowest < 20
        assert peak - before < 300 * 1024, (before, peak)  # bounded: no per-request growth
        # Load gone: the process serves normally again.
        for _ in range(20):
            assert httpx.get(f"{server.backend}/api/health").status_code == 200
            assert httpx.get(f"{server.frontend}/").status_code == 200
        print(
            f"\n500 connections x3: last burst {counts}, slowest {slowest:.2f}s, RSS {before} -> {peak} KiB"
        )
    finally:
        server.stop()


def test_slow_and_idle_clients_block_no_one_and_are_closed(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        slow_peers, idle_peers = [], []
        for port in (server.backend_port, server.frontend_port):
            slow_peers.append(socket.create_connection(("127.0.0.1", port)))
            idle_peers.append(socket.create_connection(("127.0.0.1", port)))
        stop = threading.Event()

        def dribble(sock: socket.socket) -> None:
            for byte in b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
                if stop.wait(1.0):
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    return

        dribblers = [threading.Thread(target=dribble, args=(sock,)) for sock in slow_peers]
        for thread in dribblers:
            thread.start()
        started = time.monotonic()
        for _ in range(10):
            assert httpx.get(f"{server.backend}/api/health", timeout=2).status_code == 200
            assert httpx.get(f"{server.frontend}/healthz", timeout=2).status_code == 200
            time.sleep(0.2)
        for sock in slow_peers + idle_peers:
            sock.settimeout(15)
            closed_by_server = sock.recv(1024)
            assert closed_by_server in (
                b"",
                b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            )
        closed_after = time.monotonic() - started
        stop.set()
        for thread in dribblers:
            thread.join()
        for sock in slow_peers + idle_peers:
            sock.close()
        assert closed_after < 15
    finally:
        server.stop()


def test_a_long_query_does_not_stop_health_or_other_requests(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"TEST_ENDPOINTS": "true"}).start()
    try:
        outcome: list[int] = []
        long_query = threading.Thread(
            target=lambda: outcome.append(
                httpx.get(f"{server.backend}/api/_slow_query?seconds=8", timeout=30).status_code
            )
        )
        long_query.start()
        time.sleep(0.5)
        for _ in range(5):
            assert httpx.get(f"{server.backend}/api/health", timeout=2).status_code == 200
            assert httpx.get(f"{server.frontend}/", timeout=2).status_code == 200
        # All answered while the long query was still running: an order, not a speed, so a
        # busy machine cannot make it fail.
        still_running = long_query.is_alive()
        long_query.join()
        assert outcome == [200]
        assert still_running
    finally:
        server.stop()


class SlowBodies:
    """Connections that send a request's headers, then its body one byte every `interval` seconds."""

    def __init__(self, port: int, path: str, count: int, interval: float) -> None:
        self.socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n".encode()
            )
        self.interval = interval
        self.answers: dict[socket.socket, bytes] = {}
        self.closed_after: list[float] = []
        self.started = time.monotonic()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._dribble)
        self.thread.start()

    def _dribble(self) -> None:
        # poll, not select: a thousand sockets go beyond select's descriptor numbers.
        poller = select.poll()
        by_fd = {sock.fileno(): sock for sock in self.socks}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        while not self.stop.is_set() and len(self.answers) < len(self.socks):
            for sock in self.socks:
                if sock not in self.answers:
                    try:
                        sock.send(b"a")
                    except OSError:
                        self._closed(sock, b"")
                        poller.unregister(sock.fileno())
            deadline = time.monotonic() + self.interval
            while (left := deadline - time.monotonic()) > 0 and not self.stop.is_set():
                for fd, _ in poller.poll(min(left, 0.5) * 1000):
                    sock = by_fd[fd]
                    poller.unregister(fd)
                    if sock in self.answers:
                        continue
                    try:
                        data = sock.recv(1024)
                    except OSError:
                        data = b""
                    self._closed(sock, data)

    def _closed(self, sock: socket.socket, data: bytes) -> None:
        self.answers[sock] = data
        self.closed_after.append(time.monotonic() - self.started)

    def close(self) -> None:
        """Stop sending and close every connection."""
        self.stop.set()
        self.thread.join()
        for sock in self.socks:
            sock.close()


@pytest.mark.parametrize("side", ["backend", "frontend"])
def test_slow_bodies_on_one_port_are_cut_off_and_block_no_one(tmp_path: Path, side: str) -> None:
    server = ServerProcess(tmp_path, env={"BODY_TIMEOUT": "3"}).start()
    try:
        port, path = (
            (server.backend_port, "/api/users") if side == "backend" else (server.frontend_port, "/login")
        )
        # More than the website's 16 threads: before bodies were read on the event loop and
        # given a deadline, these held every thread and the website stopped answering.
        slow = SlowBodies(port, path, count=24, interval=2.0)
        try:
            health = [f"{server.backend}/api/health", f"{server.frontend}/healthz", f"{server.frontend}/"]
            slowest = 0.0
            for _ in range(12):
                for url in health:
                    started = time.monotonic()
                    assert httpx.get(url, timeout=3).status_code == 200, url
                    slowest = max(slowest, time.monotonic() - started)
                time.sleep(0.5)
            slow.thread.join(15)
            assert len(slow.answers) == len(slow.socks), "the server left slow bodies open"
            assert set(slow.answers.values()) <= {b"", REQUEST_TIMEOUT_RESPONSE}, set(slow.answers.values())
            assert max(slow.closed_after) < 15
        finally:
            slow.close()
        print(
            f"\n{side}: 24 slow bodies closed after {min(slow.closed_after):.1f}-"
            f"{max(slow.closed_after):.1f}s (BODY_TIMEOUT=3); "
            f"slowest health answer meanwhile {slowest * 1000:.0f} ms"
        )
    finally:
        server.stop()


@pytest.mark.parametrize("side", ["backend", "frontend"])
def test_1100_slow_connections_on_one_port_leave_the_other_port_answering(tmp_path: Path, side: str) -> None:
    # Default caps (LIMIT_CONCURRENCY=1000 requests in flight, 4,000 connections, per port).
    server = ServerProcess(tmp_path, env={"BODY_TIMEOUT": "60"}).start()
    try:
        crowded, other = (
            (f"{server.backend}/api/health", f"{server.frontend}/healthz")
            if side == "backend"
            else (f"{server.frontend}/healthz", f"{server.backend}/api/health")
        )
        port, path = (
            (server.backend_port, "/api/users") if side == "backend" else (server.frontend_port, "/login")
        )
        slow = SlowBodies(port, path, count=1100, interval=5.0)
        try:
            time.sleep(1.0)  # every request has reached the router
            statuses = [httpx.get(other, timeout=5).status_code for _ in range(20)]
            assert statuses == [200] * 20
            # The crowded port's own cap is full: it turns its excess away at once.
            assert httpx.get(crowded, timeout=5).status_code == 503
            assert len(slow.answers) <= 100, "requests under the cap were cut off"
        finally:
            slow.close()
        print(f"\n1,100 slow bodies on the {side}: other port 20 x 200, own port 503")
    finally:
        server.stop()
