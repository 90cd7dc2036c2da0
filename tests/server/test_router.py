"""PortRouter: dispatch by bound port, 404 elsewhere, lifespan fan-out, state and failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from composite.server import Mount, PortInUseError, PortRouter, bind_sockets
from tests.support.live import serving
from tests.support.process import free_port


def make_app(name: str, events: list[str], fail_startup: bool = False):
    """An ASGI app that records lifespan events and answers its name."""

    async def app(scope: dict[str, Any], receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    events.append(f"{name} startup")
                    if fail_startup:
                        await send({"type": "lifespan.startup.failed", "message": f"{name} cannot start"})
                        return
                    await send({"type": "lifespan.startup.complete"})
                else:
                    events.append(f"{name} shutdown")
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": name.encode()})

    return app


async def plain_app(scope, receive, send) -> None:
    """An app without lifespan support: it refuses anything but HTTP."""
    assert scope["type"] == "http"


async def call(router: PortRouter, port: int | None) -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"",
        "headers": [],
        "server": ("127.0.0.1", port) if port else None,
        "client": ("127.0.0.1", 5000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await router(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def run_lifespan(router: PortRouter) -> list[dict[str, Any]]:
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        outbox.append(message)
        if message["type"] == "lifespan.startup.complete":
            await inbox.put({"type": "lifespan.shutdown"})

    await inbox.put({"type": "lifespan.startup"})
    await router({"type": "lifespan", "state": {}}, inbox.get, send)
    return outbox


def test_dispatches_by_local_port() -> None:
    events: list[str] = []
    router = PortRouter([Mount("a", 1111, make_app("a", events)), Mount("b", 2222, make_app("b", events))])
    assert asyncio.run(call(router, 1111)) == (200, b"a")
    assert asyncio.run(call(router, 2222)) == (200, b"b")


@pytest.mark.parametrize("port", [3333, None])
def test_unknown_port_gets_a_plain_404(port: int | None) -> None:
    router = PortRouter([Mount("a", 1111, make_app("a", []))])
    status, body = asyncio.run(call(router, port))
    assert status == 404
    assert b"no application on this port" in body


def test_two_mounts_on_one_port_are_refused() -> None:
    with pytest.raises(ValueError, match="share one port"):
        PortRouter([Mount("a", 1, plain_app), Mount("b", 1, plain_app)])


def test_lifespan_fans_out_in_order_and_shuts_down_in_reverse() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def process_lifespan() -> AsyncIterator[None]:
        events.append("open database")
        yield
        events.append("close database")

    router = PortRouter(
        [
            Mount("a", 1, make_app("a", events)),
            Mount("p", 2, plain_app),
            Mount("b", 3, make_app("b", events)),
        ],
        lifespan=process_lifespan,
    )
    outbox = asyncio.run(run_lifespan(router))
    assert [m["type"] for m in outbox] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == ["open database", "a startup", "b startup", "b shutdown", "a shutdown", "close database"]


def test_application_startup_failure_fails_startup_and_undoes_the_rest() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def process_lifespan() -> AsyncIterator[None]:
        events.append("open database")
        yield
        events.append("close database")

    router = PortRouter(
        [Mount("a", 1, make_app("a", events)), Mount("b", 2, make_app("b", events, fail_startup=True))],
        lifespan=process_lifespan,
    )
    outbox = asyncio.run(run_lifespan(router))
    assert [m["type"] for m in outbox] == ["lifespan.startup.failed"]
    assert router.startup_error == "b: b cannot start"
    assert events == ["open database", "a startup", "b startup", "a shutdown", "close database"]


def test_process_lifespan_failure_fails_startup_before_any_application() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def broken() -> AsyncIterator[None]:
        raise RuntimeError("database is locked by process 42")
        yield

    router = PortRouter([Mount("a", 1, make_app("a", events))], lifespan=broken)
    outbox = asyncio.run(run_lifespan(router))
    assert [m["type"] for m in outbox] == ["lifespan.startup.failed"]
    assert router.startup_error == "database is locked by process 42"
    assert events == []


def test_bind_sockets_binds_all_or_none() -> None:
    taken = bind_sockets("127.0.0.1", [Mount("x", 0, plain_app)])
    try:
        taken_port = taken[0].getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {taken_port} \\(second\\)"):
            bind_sockets("127.0.0.1", [Mount("first", 0, plain_app), Mount("second", taken_port, plain_app)])
    finally:
        taken[0].close()


def test_requests_beyond_the_limit_in_flight_get_503_at_once() -> None:
    release = asyncio.Event()

    async def slow(scope, receive, send) -> None:
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    router = PortRouter([Mount("a", 1111, slow)], max_in_flight=2)

    async def scenario() -> list[tuple[int, bytes]]:
        held = [asyncio.create_task(call(router, 1111)) for _ in range(2)]
        await asyncio.sleep(0)
        refused = await call(router, 1111)  # answered while the other two still run
        release.set()
        return [refused, *await asyncio.gather(*held), await call(router, 1111)]

    refused, first, second, after = asyncio.run(scenario())
    assert refused[0] == 503
    assert b"too many requests" in refused[1]
    assert [first, second, after] == [(200, b"done")] * 3
    assert sum(router.in_flight.values()) == 0


def fastapi_with_state(who: str) -> Any:
    """A FastAPI app whose lifespan yields a state naming it, and a route reading it back."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        yield {"who": who}

    app = FastAPI(lifespan=lifespan)

    @app.get("/who")
    def read_who(request: Request) -> str:
        """Which lifespan's state this request sees."""
        return request.state.who

    return app


def test_each_mount_sees_its_own_lifespan_state() -> None:
    apps = [fastapi_with_state("app1"), fastapi_with_state("app2")]
    router = PortRouter([Mount("app1", free_port(), apps[0]), Mount("app2", free_port(), apps[1])])
    with serving(router) as (port1, port2):
        assert httpx.get(f"http://127.0.0.1:{port1}/who").json() == "app1"
        assert httpx.get(f"http://127.0.0.1:{port2}/who").json() == "app2"


def test_mount_on_port_zero_is_routed_by_the_port_bound(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="composite.server")
    router = PortRouter([Mount("a", 0, make_app("a", []))])
    with serving(router) as (port,):
        assert port != 0
        response = httpx.get(f"http://127.0.0.1:{port}/")
    assert (response.status_code, response.text) == (200, "a")
    assert f"a listening on http://127.0.0.1:{port}" in caplog.text


@pytest.mark.parametrize("error", [ValueError("bad setting"), KeyError("missing"), AssertionError("no")])
def test_app_failing_after_asking_for_startup_stops_the_start(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    async def app(scope, receive, send) -> None:
        await receive()
        raise error

    router = PortRouter([Mount("a", 1, app)])
    outbox = asyncio.run(run_lifespan(router))
    assert [m["type"] for m in outbox] == ["lifespan.startup.failed"]
    assert router.startup_error == f"a: {type(error).__name__}: {error}"
    assert "a: startup failed" in caplog.text
    assert "Traceback" in caplog.text


def test_failing_fastapi_lifespan_names_its_exception(caplog: pytest.LogCaptureFixture) -> None:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("cannot reach the cache")
        yield

    router = PortRouter([Mount("api", 1, FastAPI(lifespan=lifespan))])
    outbox = asyncio.run(run_lifespan(router))
    assert [m["type"] for m in outbox] == ["lifespan.startup.failed"]
    assert router.startup_error == "api: RuntimeError: cannot reach the cache"
    assert "Traceback" in caplog.text


def test_app_refusing_lifespan_before_asking_is_served_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="composite.server")

    async def app(scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"unsupported scope {scope['type']}")
        await make_app("p", [])(scope, receive, send)

    router = PortRouter([Mount("p", 1111, app)])
    outbox = asyncio.run(run_lifespan(router))
    assert [m["type"] for m in outbox] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert "p: no lifespan support (ValueError: unsupported scope lifespan)" in caplog.text
    assert asyncio.run(call(router, 1111)) == (200, b"p")
