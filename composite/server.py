"""One uvicorn server on several listening sockets, each port served by its own application.

Generic: it knows nothing about the site. Give it a mapping of port to ASGI application
(wrap a WSGI application with ``wsgi_app``) and, optionally, a lifespan context that
brackets the whole process (open resources before the first request, close them after
the last).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import uvicorn
from a2wsgi import WSGIMiddleware

from composite.protocol import BODY_MIN_RATE, BODY_TIMEOUT, SEND_TIMEOUT, deadline_protocol
from composite.redaction import redact_query

log = logging.getLogger("composite.server")
access_log = logging.getLogger("composite.access")

Scope = dict[str, Any]
Message = dict[str, Any]
Header = tuple[bytes, bytes]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]
Lifespan = Callable[[], AbstractAsyncContextManager[Any]]


class ServerError(RuntimeError):
    """The server cannot start; the message is meant for the operator."""


class PortInUseError(ServerError):
    """A port to listen on is already taken."""

    def __init__(self, host: str, port: int, name: str) -> None:
        super().__init__(f"port {port} ({name}) on {host or '*'} is already in use")
        self.port = port


@dataclass(frozen=True)
class Mount:
    """An application served on one port, with a name for logs."""

    name: str
    port: int
    app: ASGIApp


def wsgi_app(app: Callable[..., Any], workers: int) -> ASGIApp:
    """Wrap a WSGI application so that it runs in a thread pool of its own."""
    return WSGIMiddleware(app, workers=workers)  # type: ignore[arg-type]


def bind_sockets(host: str, mounts: Sequence[Mount], backlog: int = 2048) -> list[socket.socket]:
    """Bind and listen on every mount's port, or bind none of them."""
    bound: list[socket.socket] = []
    try:
        for mount in mounts:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, mount.port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUseError(host, mount.port, mount.name) from None
                raise ServerError(
                    f"cannot listen on {host}:{mount.port} ({mount.name}): {exc.strerror}"
                ) from None
            sock.listen(backlog)
            sock.set_inheritable(True)
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    return bound


class PortRouter:
    """ASGI application that hands each connection to the application owning its local port.

    It also owns the process lifespan: ``lifespan`` is entered first, then every mounted
    application's own lifespan starts in mount order; shutdown runs in reverse, so shared
    resources close only after every application has stopped.
    """

    def __init__(
        self, mounts: Sequence[Mount], lifespan: Lifespan | None = None, max_in_flight: int | None = None
    ) -> None:
        self.mounts = list(mounts)
        self.by_port: Mapping[int, Mount] = {m.port: m for m in self.mounts}
        if len(self.by_port) != len(self.mounts):
            raise ValueError("two mounts share one port")
        self.lifespan = lifespan
        self.startup_error: str | None = None
        # uvicorn's own limit counts open connections, so a burst of connections that
        # have not sent anything yet would turn every request away; this counts requests
        # (websockets too), each port on its own so that one port's crowd never turns the
        # other port's users away.
        self.max_in_flight = max_in_flight
        self.in_flight: Counter[Mount] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._run_lifespan(scope, receive, send)
            return
        server = scope.get("server")
        mount = self.by_port.get(server[1]) if server else None
        if mount is None:
            await _not_found(scope, send)
            return
        if self.max_in_flight is not None and self.in_flight[mount] >= self.max_in_flight:
            await _busy(scope, send)
            return
        self.in_flight[mount] += 1  # the event loop is one thread: no lock needed
        try:
            # With the access log off (a level above info) there is nothing to time or record:
            # skip the wrapper that would otherwise sit on every message of every request.
            if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
                await mount.app(scope, receive, send)
            else:
                await self._serve_http(mount, scope, receive, send)
        finally:
            self.in_flight[mount] -= 1

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
                client = scope.get("client")
                query = redact_query(scope.get("query_string", b""))
                target = scope.get("raw_path") or scope["path"].encode()
                if query:
                    target += b"?" + query
                access_log.info(
                    '%s %s "%s %s HTTP/%s" %s %.1fms',
                    mount.name,
                    f"{client[0]}:{client[1]}" if client else "-",
                    scope["method"],
                    target.decode("latin-1"),
                    scope.get("http_version", "1.1"),
                    status or "-",
                    (time.perf_counter() - started) * 1000,
                )

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


class _AppLifespan:
    """Drives one mounted application's lifespan protocol from the router's.

    Mounted applications do not receive lifespan events on their own, so the router
    plays the server's part for each of them.
    """

    def __init__(self, mount: Mount, scope: Scope) -> None:
        self.mount = mount
        self.scope = scope
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.outbox: asyncio.Queue[Message] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.supported = True

    async def _run(self) -> None:
        try:
            await self.mount.app(self.scope, self.inbox.get, self.outbox.put)
        except BaseException as exc:
            await self.outbox.put({"type": "_error", "error": exc})
        else:
            await self.outbox.put({"type": "_returned"})

    async def _exchange(self, event: str) -> None:
        await self.inbox.put({"type": f"lifespan.{event}"})
        reply = await self.outbox.get()
        kind = reply["type"]
        if kind == f"lifespan.{event}.complete":
            return
        if kind == f"lifespan.{event}.failed":
            raise RuntimeError(f"{self.mount.name}: {reply.get('message') or event + ' failed'}")
        if kind == "_error" and event == "startup" and self._is_unsupported(reply["error"]):
            self.supported = False
            return
        if kind == "_error":
            raise RuntimeError(f"{self.mount.name}: {reply['error']}") from reply["error"]
        # The application returned without answering: it does not speak lifespan.
        self.supported = False

    @staticmethod
    def _is_unsupported(error: BaseException) -> bool:
        return isinstance(error, (AssertionError, KeyError, NotImplementedError, ValueError))

    async def startup(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"lifespan:{self.mount.name}")
        await self._exchange("startup")

    async def shutdown(self) -> None:
        if self.supported and self.task is not None and not self.task.done():
            await self._exchange("shutdown")
        if self.task is not None:
            await self.task


async def _plain_response(scope: Scope, send: Send, status: int, text: str, *extra: Header) -> None:
    """Answer an HTTP request from the router itself, without any application."""
    if scope["type"] != "http":
        return
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra]})
    await send({"type": "http.response.body", "body": body})


async def _not_found(scope: Scope, send: Send) -> None:
    await _plain_response(scope, send, 404, "Not Found: no application on this port\n")


async def _busy(scope: Scope, send: Send) -> None:
    text = "Service Unavailable: too many requests at once, try again shortly\n"
    await _plain_response(scope, send, 503, text, (b"retry-after", b"1"))


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
    timeout_keep_alive: int = 5,
) -> uvicorn.Server:
    """One uvicorn.Server for every socket: one signal handler, one graceful shutdown.

    ``max_connections`` caps open connections on each port by itself (uvicorn's own
    ``limit_concurrency`` counts every port together, so it stays off); beyond it a
    request gets 503. ``forwarded_allow_ips`` empty trusts no peer's X-Forwarded-*.
    """
    protocol = deadline_protocol(
        body_timeout=body_timeout,
        body_min_rate=body_min_rate,
        send_timeout=send_timeout,
        max_connections=max_connections,
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
        timeout_keep_alive=timeout_keep_alive,
        http=protocol,
        server_header=False,
        date_header=True,
    )
    return uvicorn.Server(config)
