"""One uvicorn server on several listening sockets, each port served by its own application.

Generic: it knows nothing about the site. Give it a mapping of port to ASGI application
(wrap a WSGI application with ``wsgi_app``) and, optionally, a lifespan context that
brackets the whole process (open resources before the first request, close them after
the last).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from composite.server.asgi import ASGIApp, Message, Receive, Scope, Send
from composite.server.asgi import plain_response as _plain_response
from composite.server.drain import DrainingServer
from composite.server.early import Early, EarlyAnswer, early_of
from composite.server.httpcheck import HTTPChecks, has_one_host
from composite.server.protocol import BODY_MIN_RATE, BODY_TIMEOUT, SEND_TIMEOUT, deadline_protocol
from composite.server.redaction import redact_query
from composite.server.unix import bind_unix
from composite.server.wsgi import SERVER_SOFTWARE, WSGIAdapter

log = logging.getLogger("composite.server")
ACCESS_LOGGER = "composite.access"
access_log = logging.getLogger(ACCESS_LOGGER)

Lifespan = Callable[[], AbstractAsyncContextManager[Any]]
# What PortRouter.stop() allows beyond the graceful stop's bound before it ends the process.
STOP_MARGIN_SECONDS = 5.0


class ServerError(RuntimeError):
    """The server cannot start; the message is meant for the operator."""


class PortInUseError(ServerError):
    """A port to listen on is already taken."""

    def __init__(self, host: str, port: int, name: str) -> None:
        super().__init__(f"port {port} ({name}) on {host or '*'} is already in use")


@dataclass(frozen=True)
class Mount:
    """An application served on one port, with a name for logs."""

    name: str
    port: int
    app: ASGIApp
    # A mount may listen on its own address instead of the router's host (e.g. metrics on an
    # internal network), or on a Unix-domain socket at ``path`` instead of a TCP port.
    host: str | None = None
    path: str | None = None


def wsgi_app(app: Callable[..., Any], workers: int, max_body_bytes: int | None = None) -> ASGIApp:
    """Wrap a WSGI application so that it runs in a thread pool of its own."""
    return WSGIAdapter(app, workers, max_body_bytes)


Hosts = str | Sequence[str]


def bind_sockets(default_host: Hosts, mounts: Sequence[Mount], backlog: int = 2048) -> list[socket.socket]:
    """Bind and listen on every mount's port, or bind none of them."""
    return [sock for group in _bind_each(default_host, mounts, backlog) for sock in group]


def _bind_each(default_host: Hosts, mounts: Sequence[Mount], backlog: int) -> list[list[socket.socket]]:
    """Each mount's listening sockets, one per address it listens on (all bound, or none)."""
    hosts = [default_host] if isinstance(default_host, str) else list(default_host)
    groups: list[list[socket.socket]] = []
    try:
        for mount in mounts:
            group: list[socket.socket] = []
            groups.append(group)
            if mount.path is not None:
                group.append(bind_unix(mount.path, mount.name, backlog))
                continue
            port = mount.port
            for host in [mount.host] if mount.host is not None else hosts:
                sock = _listen(host, port, mount.name, backlog, only_v6=len(hosts) > 1)
                group.append(sock)
                # Port 0 picks a free port once; every other address of the mount uses the same one.
                port = sock.getsockname()[1]
    except BaseException:
        for sock in (sock for group in groups for sock in group):
            sock.close()
        raise
    return groups


def _listen(host: str, port: int, name: str, backlog: int, only_v6: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if only_v6 and family == socket.AF_INET6:
            # "::" would also take the IPv4 port and clash with "0.0.0.0" given beside it.
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUseError(host, port, name) from None
            raise ServerError(f"cannot listen on {host}:{port} ({name}): {exc.strerror}") from None
        sock.listen(backlog)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


class PortRouter:
    """ASGI application that hands each connection to the application owning its local port.

    It also owns the process lifespan: ``lifespan`` is entered first, then every mounted
    application's own lifespan starts in mount order; shutdown runs in reverse, so shared
    resources close only after every application has stopped.
    """

    def __init__(
        self, mounts: Sequence[Mount], lifespan: Lifespan | None = None, max_in_flight: int | None = None
    ) -> None:
        self.mounts = [dataclasses.replace(m, app=_Served(m.app)) for m in mounts]
        self._index()
        # Any number may ask for a free port (0); a Unix socket has none.
        fixed = [m.port for m in self.mounts if m.port and m.path is None]
        if len(set(fixed)) != len(fixed):
            raise ValueError("two mounts share one port")
        self.lifespan = lifespan
        self.startup_error: str | None = None
        # Set by stop(): the status the process exits with, and why (run.serve reports it).
        self.exit_status: int | None = None
        self.exit_reason: str | None = None
        self.server: uvicorn.Server | None = None  # set by make_server
        self._stop_grace = 15.0
        # uvicorn's own limit counts open connections, so a burst of connections that
        # have not sent anything yet would turn every request away; this counts requests
        # (websockets too), each port on its own so that one port's crowd never turns the
        # other port's users away.
        self.max_in_flight = max_in_flight
        # Requests each mount turned away at its in-flight cap (503), for the metrics.
        self.refused: Counter[str] = Counter()
        # Connections refused at a port's cap of open connections, by port (make_server).
        self.refused_connections: Counter[int] = Counter()

    def stop(self, status: int, reason: str) -> None:
        """Stop serving, from any thread, as a signal would, then exit with ``status``.

        For a fault the process cannot recover from: the graceful stop answers what is in
        flight and runs the lifespan shutdown; should it hang, the process ends by itself
        once the graceful stop's bound and a margin have passed, so the supervisor can
        start a new one.
        """
        if self.exit_status is not None:
            return
        self.exit_status, self.exit_reason = status, reason
        watchdog = threading.Timer(self._stop_grace, os._exit, [status])
        watchdog.daemon = True  # a stop that finishes in time exits without it
        watchdog.start()
        if self.server is not None:
            self.server.should_exit = True

    @property
    def in_flight(self) -> Counter[Mount]:
        """Requests being served now, by mount."""
        return Counter({m: m.app.in_flight for m in self.mounts if isinstance(m.app, _Served)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(scope, receive, send)
            return
        mount = self._mount_for(scope.get("server"))
        if mount is None:
            await _not_found(scope, send)
            return
        # Counted on the mount's own application object: a Counter keyed by the frozen
        # Mount hashed all its fields several times per request.
        served: _Served = mount.app  # type: ignore[assignment]
        if self.max_in_flight is not None and served.in_flight >= self.max_in_flight:
            self.refused[mount.name] += 1
            await _busy(scope, send)
            return
        served.in_flight += 1  # the event loop is one thread: no lock needed
        try:
            # With the access log off (a level above info) there is nothing to time or record:
            # skip the wrapper that would otherwise sit on every message of every request.
            if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
                await served(scope, receive, send)
            else:
                await self._serve_http(mount, scope, receive, send)
        finally:
            served.in_flight -= 1

    async def _serve_http(self, mount: Mount, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0
        started = time.perf_counter()

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await mount.app(scope, receive, send_logged)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_access(mount.name, scope, status, started)

    def _index(self) -> None:
        self.by_port: Mapping[int, Mount] = {m.port: m for m in self.mounts if m.path is None}
        self.by_path: Mapping[str, Mount] = {m.path: m for m in self.mounts if m.path is not None}
        self._early: dict[int, Early] = {}
        for port, mount in self.by_port.items():
            early = early_of(mount.app)
            if early is not None:
                self._early[port] = _logged(mount.name, early)

    def early_for(self, port: int) -> Early | None:
        """What answers requests on this port early (see ``composite.server.early``), if anything."""
        return self._early.get(port)

    def _mount_for(self, server: tuple[str, int | None] | None) -> Mount | None:
        """The mount that owns the socket a connection came in on: uvicorn gives (path, None) for Unix."""
        if not server:
            return None
        if server[1] is None:
            return self.by_path.get(server[0])
        return self.by_port.get(server[1])

    def served_app(self, key: str | int) -> ASGIApp:
        """The application of the mount with this name or port, as the router calls it (state included)."""
        for mount in self.mounts:
            if key in (mount.name, mount.port, str(mount.port)):
                return mount.app
        raise KeyError(key)

    def add(self, mount: Mount) -> None:
        """Serve one more mount (before the server starts), e.g. a path split over the others."""
        if mount.path is None and mount.port and mount.port in self.by_port:
            raise ValueError("two mounts share one port")
        self.mounts.append(dataclasses.replace(mount, app=_Served(mount.app)))
        self._index()

    def bind(self, host: Hosts, backlog: int = 2048) -> list[socket.socket]:
        """Listen on every mount's port (all or none) and route by the ports actually bound.

        ``host`` may name several addresses: every mount without its own listens on each.
        """
        groups = _bind_each(host, self.mounts, backlog)
        # Port 0 means "any free port": requests arrive on the one the system chose.
        ports = [
            m.port if m.path is not None else group[0].getsockname()[1]
            for m, group in zip(self.mounts, groups, strict=True)
        ]
        self.mounts = [dataclasses.replace(m, port=p) for m, p in zip(self.mounts, ports, strict=True)]
        self._index()
        for mount, group in zip(self.mounts, groups, strict=True):
            if mount.path is not None:
                log.info("%s listening on unix:%s", mount.name, mount.path)
                continue
            for sock in group:
                address = sock.getsockname()[0]
                shown = f"[{address}]" if ":" in address else address
                log.info("%s listening on http://%s:%d", mount.name, shown, mount.port)
        return [sock for group in groups for sock in group]

    async def _run_lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        context = self.lifespan() if self.lifespan else _NoLifespan()
        started: list[_AppLifespan] = []
        try:
            await context.__aenter__()
        except Exception as exc:
            self.startup_error = str(exc) or type(exc).__name__
            await send({"type": "lifespan.startup.failed", "message": ""})
            return
        try:
            for mount in self.mounts:
                child = _AppLifespan(mount, scope)
                await child.startup()
                started.append(child)
        except Exception as exc:
            self.startup_error = str(exc) or type(exc).__name__
            await self._stop(started, context)
            await send({"type": "lifespan.startup.failed", "message": ""})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        if await self._stop(started, context):
            await send({"type": "lifespan.shutdown.complete"})
        else:
            await send({"type": "lifespan.shutdown.failed", "message": "shutdown failed, see above"})

    @staticmethod
    async def _stop(started: list[_AppLifespan], context: AbstractAsyncContextManager[Any]) -> bool:
        """Stop applications in reverse order, then leave the process lifespan; True if clean."""
        clean = True
        for child in reversed(started):
            try:
                await child.shutdown()
            except Exception:
                log.exception("%s: shutdown failed", child.mount.name)
                clean = False
        try:
            await context.__aexit__(None, None, None)
        except Exception:
            log.exception("process shutdown failed")
            clean = False
        return clean


class _NoLifespan(contextlib.AbstractAsyncContextManager[None]):
    """Stands in when the router has no process lifespan."""

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _log_access(name: str, scope: Scope, status: int, started: float) -> None:
    """One access line: the application, client, request line, status and time taken."""
    client = scope.get("client")
    query = redact_query(scope.get("query_string", b""))
    target = scope.get("raw_path") or scope["path"].encode()
    if query:
        target += b"?" + query
    access_log.info(
        '%s %s "%s %s HTTP/%s" %s %.1fms',
        name,
        f"{client[0]}:{client[1]}" if client else "-",
        scope["method"],
        target.decode("latin-1"),
        scope.get("http_version", "1.1"),
        status or "-",
        (time.perf_counter() - started) * 1000,
    )


def _logged(name: str, early: Early) -> Early:
    """Early answers of one mount, with the access line every other answer gets."""

    def answer(scope: Scope) -> EarlyAnswer | None:
        started = time.perf_counter()
        given = early(scope)
        if given is not None and access_log.isEnabledFor(logging.INFO):
            _log_access(name, scope, given.status, started)
        return given

    return answer


class _Served:
    """A mounted application as the router calls it: its own lifespan state, the HTTP checks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.checked = HTTPChecks(app)
        self.state: dict[str, Any] | None = None  # what the application's lifespan left there
        self.in_flight = 0  # requests (and websockets) being served now; the router counts them
        inner = early_of(app)
        if inner is not None:
            self._inner_early = inner
            self.early = self._early

    def _early(self, scope: Scope) -> EarlyAnswer | None:
        """The application's early answer, for a request the HTTP checks would let through."""
        # Anything else takes the normal path and its 400.
        return self._inner_early(scope) if has_one_host(scope) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if self.state is not None:
            # A shallow copy per request, as uvicorn does for an application on its own. The
            # scope is this request's own (uvicorn builds one per request, the router reads
            # nothing of its state): set in place rather than copying the whole scope.
            scope["state"] = self.state.copy()
        await (self.checked if scope["type"] == "http" else self.app)(scope, receive, send)


class _AppLifespan:
    """Drives one mounted application's lifespan protocol from the router's.

    Mounted applications do not receive lifespan events on their own, so the router
    plays the server's part for each of them, each with a state of its own.

    An application that fails before asking for the startup event does not speak the
    lifespan protocol (a plain ASGI app refusing any scope but ``http``): it is served
    without one. Once it has asked, any failure stops the start, with its reason.
    """

    def __init__(self, mount: Mount, scope: Scope) -> None:
        self.mount = mount
        self.scope = {**scope, "state": {}}
        if isinstance(mount.app, _Served):
            mount.app.state = self.scope["state"]
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.supported = True
        self.asked = False  # the application has called receive() for the startup event
        self.error: BaseException | None = None

    async def _receive(self) -> Message:
        self.asked = True
        return await self.inbox.get()

    async def _run(self) -> None:
        try:
            await self.mount.app(self.scope, self._receive, self.outbox.put)
        except BaseException as exc:
            self.error = exc
            await self.outbox.put({"type": "_error"})
        else:
            await self.outbox.put({"type": "_returned"})

    async def _exchange(self, event: str) -> None:
        await self.inbox.put({"type": f"lifespan.{event}"})
        reply = await self.outbox.get()
        kind = reply["type"]
        if kind == f"lifespan.{event}.complete":
            return
        if kind == f"lifespan.{event}.failed":
            # Starlette reports the traceback as the message and then raises: prefer the exception.
            assert self.task is not None
            await asyncio.wait([self.task], timeout=1.0)
            self._fail(event, self.error, reply.get("message") or f"{event} failed")
        if kind == "_error" and event == "startup" and not self.asked:
            reason = _reason(self.error)
            log.info("%s: no lifespan support (%s), serving it without one", self.mount.name, reason)
            self.supported = False
            return
        if kind == "_error":
            self._fail(event, self.error, "")
        # The application returned without answering: it does not speak lifespan.
        self.supported = False

    def _fail(self, event: str, error: BaseException | None, message: str) -> None:
        """Raise the failure as one line; at start-up, log the whole of it first."""
        # A failed shutdown is logged, traceback included, by the router that stops the apps.
        report = event == "startup"
        if error is not None:
            if report:
                log.error("%s: %s failed", self.mount.name, event, exc_info=error)
            raise RuntimeError(f"{self.mount.name}: {_reason(error)}") from error
        lines = [line for line in message.splitlines() if line.strip()]
        if report and len(lines) > 1:
            log.error("%s: %s failed:\n%s", self.mount.name, event, message)
        raise RuntimeError(f"{self.mount.name}: {lines[-1].strip() if lines else event + ' failed'}")

    async def startup(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"lifespan:{self.mount.name}")
        await self._exchange("startup")

    async def shutdown(self) -> None:
        if self.supported and self.task is not None and not self.task.done():
            await self._exchange("shutdown")
        if self.task is not None:
            await self.task


def _reason(error: BaseException | None) -> str:
    """An exception as one line: its type, and its message when it has one."""
    if error is None:
        return "no reason given"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def _not_found(scope: Scope, send: Send) -> None:
    await _plain_response(scope, send, 404, "Not Found: no application on this port\n")


async def _busy(scope: Scope, send: Send) -> None:
    text = "Service Unavailable: too many requests at once, try again shortly\n"
    await _plain_response(scope, send, 503, text, (b"retry-after", b"1"))


async def _returns(scope: Scope, receive: Receive, send: Send) -> None:
    """An application that does nothing: what the early path's proxy-header step wraps."""


def _server_header(headers: Sequence[tuple[str, str]], wanted: bool) -> list[tuple[str, str]]:
    """The Server header to send, unless one was given or none is wanted."""
    if not wanted or any(name.lower() == "server" for name, _ in headers):
        return []
    return [("server", SERVER_SOFTWARE)]


def make_server(
    router: PortRouter,
    *,
    log_level: str = "info",
    forwarded_allow_ips: str = "",
    shutdown_timeout: float = 10.0,
    max_connections: int | None = None,
    body_timeout: float = BODY_TIMEOUT,
    body_min_rate: float = BODY_MIN_RATE,
    send_timeout: float = SEND_TIMEOUT,
    timeout_keep_alive: float = 5.0,
    backlog: int = 2048,
    max_requests: int | None = None,
    headers: Sequence[tuple[str, str]] = (),
    server_header: bool = False,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    ws_max_size: int = 16 * 1024 * 1024,
    ws_ping_interval: float | None = 20.0,
    ws_ping_timeout: float | None = 20.0,
) -> uvicorn.Server:
    """One uvicorn.Server for every socket: one signal handler, one graceful shutdown.

    ``max_connections`` caps open connections on each port by itself (uvicorn's own
    ``limit_concurrency`` counts every port together, so it stays off); beyond it a
    request gets 503. ``forwarded_allow_ips`` empty trusts no peer's X-Forwarded-*.
    ``max_requests`` stops the server gracefully once it has answered that many requests.
    ``headers`` go on every response; ``server_header`` adds ``Server: composite/<version>``
    unless ``headers`` has a Server of its own. ``ssl_certfile`` makes every socket speak TLS.
    The ``ws_`` options are uvicorn's, for every websocket on every port.
    """
    protocol = deadline_protocol(
        body_timeout=body_timeout,
        body_min_rate=body_min_rate,
        send_timeout=send_timeout,
        max_connections=max_connections,
        # A bare ASGI app (no PortRouter) is served too; its refusals are then not counted.
        refused_connections=getattr(router, "refused_connections", None),
        # At trace level uvicorn logs every ASGI message: every answer then takes the normal path.
        early_for=getattr(router, "early_for", None) if log_level != "trace" else None,
        forwarded=ProxyHeadersMiddleware(_returns, forwarded_allow_ips) if forwarded_allow_ips else None,
    )
    config = uvicorn.Config(
        router,
        lifespan="on",
        log_config=None,
        log_level=log_level,
        access_log=False,  # the router logs each request with the name of its application
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or "",
        # uvicorn waits forever by default; a stop must finish before Docker's kill.
        timeout_graceful_shutdown=shutdown_timeout,  # type: ignore[arg-type]
        timeout_keep_alive=timeout_keep_alive,  # type: ignore[arg-type]
        # asyncio listens again on each socket it is given, with this backlog.
        backlog=backlog,
        limit_max_requests=max_requests,
        http=protocol,
        headers=[*headers, *_server_header(headers, server_header)],
        # uvicorn's own would say "uvicorn": composite names itself instead (_server_header).
        server_header=False,
        date_header=True,
        # uvicorn wraps every socket it is handed in one context made from these.
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        ws_max_size=ws_max_size,
        ws_ping_interval=ws_ping_interval,
        ws_ping_timeout=ws_ping_timeout,
    )
    # It answers the connections queued in the listen backlog at a stop (see drain).
    server = DrainingServer(config)
    if isinstance(router, PortRouter):
        router.server = server
        router._stop_grace = shutdown_timeout + STOP_MARGIN_SECONDS
    return server
