"""Early answers: kept responses written by the protocol itself, on a real server in a thread."""

from __future__ import annotations

import contextlib
import re
import socket
import time
from pathlib import Path
from typing import Any

from composite.server.metrics import Metrics
from composite.server.observe import Observe
from composite.server.requestid import set_route
from composite.server.responsecache import ResponseCache
from tests.server.test_protocol import serving

BIG = 100_000


class Site:
    """An ASGI app whose answers are kept, saying how many times it ran and at which version."""

    def __init__(self) -> None:
        self.version = 0
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.calls += 1
        body = b"y" * BIG if scope["path"] == "/big" else f"{scope['scheme']} v{self.version}".encode()
        headers = [
            (b"content-type", b"text/plain"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"public, no-cache"),
            (b"date", b"Thu, 01 Jan 1970 00:00:00 GMT"),  # the server's own Date replaces it
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def served(site: Site, metrics: Metrics | None = None) -> Observe:
    """The site behind the exact cache and the request-id middleware, as the composite mounts it."""
    return Observe(ResponseCache(site, lambda: site.version), "site", metrics)


def exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes, read until the server closes or goes quiet, return all it sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        sock.settimeout(0.5)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    return received


def resident_kib() -> int:
    """This process's resident memory now (the server runs in one of its threads), in KiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


GET = b"GET /page HTTP/1.1\r\nHost: site\r\n\r\n"


def test_a_kept_answer_is_written_without_the_application_and_keeps_every_header() -> None:
    site = Site()
    with serving([served(site)]) as ports:
        first = exchange(ports[0], GET)
        second = exchange(ports[0], GET)
    assert site.calls == 1  # the second never reached the application
    for answer in (first, second):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert body == b"http v0"
        assert head.lower().count(b"\r\ndate: ") == 1
        assert b"1970" not in head
        assert re.search(rb"\r\nx-request-id: [0-9a-f]{32}", head)
        assert b"\r\netag: " in head
        assert b"\r\ncontent-length: 7" in head
    ids = [re.search(rb"x-request-id: (\w+)", a).group(1) for a in (first, second)]  # type: ignore[union-attr]
    assert ids[0] != ids[1]


def test_head_if_none_match_close_and_http_1_0_are_answered_as_http_says() -> None:
    site = Site()
    with serving([served(site)]) as ports:
        etag = re.search(rb"etag: (\S+)", exchange(ports[0], GET)).group(1)  # type: ignore[union-attr]
        head_answer = exchange(ports[0], b"HEAD /page HTTP/1.1\r\nHost: site\r\n\r\n")
        conditional = b"GET /page HTTP/1.1\r\nHost: site\r\nIf-None-Match: " + etag + b"\r\n\r\n"
        not_modified = exchange(ports[0], conditional)
        closing = exchange(ports[0], b"GET /page HTTP/1.1\r\nHost: site\r\nConnection: close\r\n\r\n")
        old = exchange(ports[0], b"GET /page HTTP/1.0\r\nHost: site\r\n\r\n")
    assert site.calls == 1
    assert head_answer.endswith(b"\r\n\r\n")
    assert b"content-length: 7\r\n" in head_answer
    assert not_modified.startswith(b"HTTP/1.1 304 ")
    assert b"content-length" not in not_modified
    assert not_modified.endswith(b"\r\n\r\n")
    assert b"etag: " + etag in not_modified
    for answer in (closing, old):
        assert b"\r\nconnection: close\r\n" in answer
        assert answer.endswith(b"http v0")


def test_a_write_ends_the_early_answers_and_the_next_request_reaches_the_application() -> None:
    site = Site()
    with serving([served(site)]) as ports:
        assert exchange(ports[0], GET).endswith(b"v0")
        site.version = 1
        assert exchange(ports[0], GET).endswith(b"v1")
        assert exchange(ports[0], GET).endswith(b"v1")
    assert site.calls == 2


def test_requests_the_http_checks_refuse_are_never_answered_early() -> None:
    site = Site()
    with serving([served(site)]) as ports:
        exchange(ports[0], GET)
        two_hosts = exchange(ports[0], b"GET /page HTTP/1.1\r\nHost: site\r\nHost: other\r\n\r\n")
        no_host = exchange(ports[0], b"GET /page HTTP/1.1\r\n\r\n")
    assert two_hosts.startswith(b"HTTP/1.1 400 ")
    assert no_host.startswith(b"HTTP/1.1 400 ")


def test_early_answers_are_counted_with_the_route_that_made_them() -> None:
    metrics = Metrics()
    site = Site()

    async def routed(scope: dict[str, Any], receive: Any, send: Any) -> None:
        set_route("/page-route")  # as the applications' route probes do
        await site(scope, receive, send)

    cache = ResponseCache(routed, lambda: site.version)
    with serving([Observe(cache, "site", metrics)]) as ports:
        for _ in range(3):
            exchange(ports[0], GET)
    text = metrics.render().decode()
    assert 'composite_requests_total{app="site",method="GET",route="/page-route",status="200"} 3.0' in text
    assert 'composite_request_duration_seconds_count{app="site"} 3.0' in text
    assert cache.stats.hits == 2
    assert site.calls == 1


def test_a_middleware_that_knows_nothing_of_early_answers_is_never_skipped() -> None:
    site = Site()
    seen: list[str] = []

    async def outer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["path"])
        await cache(scope, receive, send)

    cache = ResponseCache(site, lambda: site.version)
    with serving([Observe(outer, "site")]) as ports:
        for _ in range(3):
            exchange(ports[0], GET)
    assert seen == ["/page"] * 3  # every request went through it
    assert cache.stats.hits == 2  # and the cache still answered behind it


def test_a_trusted_proxys_scheme_is_applied_before_an_early_answer() -> None:
    site = Site()
    with serving([served(site)], forwarded_allow_ips="127.0.0.1") as ports:
        plain = exchange(ports[0], GET)
        forwarded = b"GET /page HTTP/1.1\r\nHost: site\r\nX-Forwarded-Proto: https\r\n\r\n"
        first, second = exchange(ports[0], forwarded), exchange(ports[0], forwarded)
        again = exchange(ports[0], GET)
    assert plain.endswith(b"http v0")
    assert again.endswith(b"http v0")
    assert first.endswith(b"https v0")
    assert second.endswith(b"https v0")
    assert site.calls == 2  # one per scheme: the https answer was kept apart and reused


def test_thousands_of_pipelined_requests_are_answered_in_order_without_recursion() -> None:
    site = Site()
    count = 3000
    with serving([served(site)]) as ports:
        exchange(ports[0], GET)
        with socket.create_connection(("127.0.0.1", ports[0]), timeout=10) as sock:
            request = b"GET /page?%d HTTP/1.1\r\nHost: site\r\n\r\n"
            sock.sendall(b"".join(request % (i % 2) for i in range(count)))
            reader = sock.makefile("rb")
            answers = 0
            for _ in range(count):
                assert reader.readline().startswith(b"HTTP/1.1 200 ")
                length = 0
                while (line := reader.readline()) != b"\r\n":
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                reader.read(length)
                answers += 1
    assert answers == count
    assert site.calls == 3  # /page, /page?0 and /page?1, once each


def test_a_client_that_sends_requests_but_never_reads_holds_a_bounded_backlog() -> None:
    site = Site()
    requests = 5000  # 500 MB of answers if each were written at once
    with serving([served(site)]) as ports:
        exchange(ports[0], b"GET /big HTTP/1.1\r\nHost: site\r\n\r\n")
        before = resident_kib()
        with socket.create_connection(("127.0.0.1", ports[0]), timeout=10) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(0.2)
            pipelined = b"GET /big HTTP/1.1\r\nHost: site\r\n\r\n" * requests
            sent = 0
            deadline = time.monotonic() + 3
            while sent < len(pipelined) and time.monotonic() < deadline:
                # The server stops reading at some point: what it holds then is what counts.
                with contextlib.suppress(TimeoutError):
                    sent += sock.send(pipelined[sent : sent + 65536])
            time.sleep(0.5)
            grown_kib = resident_kib() - before  # while the connection still holds its backlog
    assert grown_kib < 64 * 1024, f"the server grew by {grown_kib} KiB for a client that never reads"
