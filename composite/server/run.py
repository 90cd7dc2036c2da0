"""Run a PortRouter until it is told to stop: bind every port first, one uvicorn server, exit codes."""

from __future__ import annotations

import gc
import logging
import socket
import sys
from dataclasses import dataclass

from composite.server.protocol import BODY_MIN_RATE, BODY_TIMEOUT, SEND_TIMEOUT
from composite.server.router import ACCESS_LOGGER, PortRouter, ServerError, make_server

log = logging.getLogger("composite.server")

EXIT_USAGE = 2
EXIT_STARTUP = 3
# A fault met while serving that only a new process can clear (PortRouter.stop): a supervisor
# restarts on it (systemd's Restart=on-failure, compose's restart policy).
EXIT_FATAL = 4
# Stopped gracefully after --max-requests: not a fault, but not 0 either, so that a supervisor
# restarting only on failure (systemd's Restart=on-failure) starts a fresh process too.
EXIT_RECYCLE = 5


@dataclass(frozen=True)
class ServeOptions:
    """How the one server listens, bounds its clients and stops (make_server's options)."""

    host: str | tuple[str, ...] = "127.0.0.1"  # several: every port listens on each
    log_level: str = "info"
    shutdown_timeout: float = 10.0
    forwarded_allow_ips: str = ""
    max_connections: int | None = None  # open connections on each port
    body_timeout: float = BODY_TIMEOUT
    body_min_rate: float = BODY_MIN_RATE
    send_timeout: float = SEND_TIMEOUT
    timeout_keep_alive: float = 5.0  # uvicorn's default
    backlog: int = 2048  # uvicorn's default
    max_requests: int | None = None  # then stop gracefully with EXIT_RECYCLE
    headers: tuple[tuple[str, str], ...] = ()  # added to every response
    server_header: bool = False
    ssl_certfile: str | None = None  # then every port speaks TLS
    ssl_keyfile: str | None = None  # None: the key is in ssl_certfile
    access_log: bool = True  # at log level info or below
    ws_max_size: int = 16 * 1024 * 1024  # uvicorn's default, in bytes
    ws_ping_interval: float | None = 20.0  # uvicorn's default; None: no pings
    ws_ping_timeout: float | None = 20.0  # uvicorn's default; None: wait for ever


def fail(message: str, status: int) -> int:
    """Tell the operator what is wrong in one line and return the exit status."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    return status


def bind(router: PortRouter, options: ServeOptions) -> list[socket.socket]:
    """Listen on every mount's port, or on none (ServerError naming the port); port 0 picks one."""
    return router.bind(options.host, options.backlog)


def serve(router: PortRouter, options: ServeOptions, sockets: list[socket.socket] | None = None) -> int:
    """Serve on ``sockets`` (bound here when not given) until a signal; return the exit status."""
    if sockets is None:
        try:
            sockets = bind(router, options)
        except ServerError as exc:
            return fail(str(exc), EXIT_STARTUP)
    if not options.access_log:
        # The router asks this logger before timing a request: off, it skips that work too.
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.WARNING)
    server = make_server(
        router,
        log_level=options.log_level,
        forwarded_allow_ips=options.forwarded_allow_ips,
        shutdown_timeout=options.shutdown_timeout,
        max_connections=options.max_connections,
        body_timeout=options.body_timeout,
        body_min_rate=options.body_min_rate,
        send_timeout=options.send_timeout,
        timeout_keep_alive=options.timeout_keep_alive,
        backlog=options.backlog,
        max_requests=options.max_requests,
        headers=options.headers,
        server_header=options.server_header,
        ssl_certfile=options.ssl_certfile,
        ssl_keyfile=options.ssl_keyfile,
        ws_max_size=options.ws_max_size,
        ws_ping_interval=options.ws_ping_interval,
        ws_ping_timeout=options.ws_ping_timeout,
    )
    # Modules, routes and templates live as long as the process: freezing them keeps every
    # later garbage collection from walking them again on each burst of requests.
    gc.collect()
    gc.freeze()
    try:
        server.run(sockets=sockets)
    except SystemExit:
        # uvicorn exits when the lifespan fails; the router knows why.
        if router.startup_error is None:
            raise
    finally:
        for sock in sockets:
            sock.close()
    if router.startup_error is not None:
        return fail(router.startup_error, EXIT_STARTUP)
    if router.exit_status is not None:
        return fail(router.exit_reason or "stopped", router.exit_status)
    # A signal never gets here (uvicorn raises it again), so a clean return at the limit is the limit.
    if options.max_requests is not None and server.server_state.total_requests >= options.max_requests:
        log.info(
            "stopped after %d requests (max-requests), exit status %d", options.max_requests, EXIT_RECYCLE
        )
        return EXIT_RECYCLE
    return 0
