"""Compose the site: settings, one database, both applications, one server."""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from composite import __version__
from composite.config import ConfigError, Settings
from composite.db import HOLD_BOUNDS, SERVER_QUERY_THREADS, Database, DatabaseError
from composite.db.space import MIB, DiskSpace
from composite.library import reindex
from composite.library.backend import create_backend
from composite.library.backend.deps import large_upload_check
from composite.library.examples import load_examples
from composite.library.frontend import create_frontend
from composite.library.frontend.app import large_uploads, refusal_page
from composite.library.frontend.security import signed_in_check
from composite.library.import_files import IMPORT_MAX_BYTES
from composite.library.migrations import MIGRATIONS_DIR
from composite.library.observability import operating_mounts, record_flask_routes, start_backup_schedule
from composite.library.operations import Operations
from composite.library.policies import api_policy, site_policy
from composite.library.public import public_mount
from composite.library.ratelimit import RateLimiter
from composite.server import ASGIApp, Mount, PortRouter, wsgi_app
from composite.server.headers import SecurityHeaders
from composite.server.limits import BodyLimit
from composite.server.logs import configure_logging
from composite.server.metrics import Metrics, route_probe
from composite.server.observe import Observe
from composite.server.reload import run_with_reload
from composite.server.responsecache import ResponseCache
from composite.server.router import ServerError
from composite.server.run import EXIT_FATAL, EXIT_STARTUP, EXIT_USAGE, ServeOptions, bind, fail, serve
from composite.server.unix import remove_socket_file

log = logging.getLogger("composite")

# What --reload watches: the whole package, the site's templates and static files included.
PACKAGE_DIR = Path(__file__).resolve().parent.parent

EXIT_CONFIG = EXIT_USAGE
# Open connections allowed on each port per request in flight (LIMIT_CONCURRENCY).
CONNECTIONS_PER_REQUEST = 4


def api_app(
    settings: Settings,
    db: Database,
    limiter: RateLimiter | None = None,
    operations: Operations | None = None,
    caches: dict[str, ResponseCache] | None = None,
) -> ASGIApp:
    """The API as it is served: the FastAPI app inside its body limit and security headers."""
    backend = create_backend(settings, db, limiter)
    backend.state.operations = operations  # the health check reports the newest backup's age
    limited = BodyLimit(
        route_probe(backend),
        settings.max_body_bytes,
        # Every route of the API reads its body whole before it answers (the import into a
        # spool of its own), so streaming would save it nothing, and would lose the bound
        # on what the port holds at once: 32 bodies of the limit, not LIMIT_CONCURRENCY.
        buffered=True,
        json_errors=True,
        large_paths={"/api/import": IMPORT_MAX_BYTES},
        admit_large=large_upload_check(db),  # anonymous clients must not hold the few slots
    )
    # The cache outside the security headers: a kept answer carries them, early or not.
    secured = SecurityHeaders(limited, api_policy, hsts=settings.production)
    return _cached("backend", secured, settings, db, caches)


def website_app(
    settings: Settings,
    db: Database,
    limiter: RateLimiter | None = None,
    caches: dict[str, ResponseCache] | None = None,
) -> ASGIApp:
    """The website as it is served: Flask on its own thread pool, inside the same wrappers."""
    frontend = create_frontend(settings, db, limiter)
    record_flask_routes(frontend)
    limited = BodyLimit(
        wsgi_app(frontend, settings.frontend_threads),
        settings.max_body_bytes,
        buffered=True,  # read on the event loop: no Flask thread waits on a slow client
        large_paths=large_uploads(frontend),
        refusal=refusal_page(frontend),
        admit_large=signed_in_check(frontend),
    )
    session_cookie = frontend.config["SESSION_COOKIE_NAME"]
    secured = SecurityHeaders(limited, site_policy, hsts=settings.production)
    return _cached("frontend", secured, settings, db, caches, credential_cookies=[session_cookie])


def _cached(
    name: str,
    app: ASGIApp,
    settings: Settings,
    db: Database,
    caches: dict[str, ResponseCache] | None,
    credential_cookies: Sequence[str] = (),
) -> ASGIApp:
    """The app behind the exact cache of anonymous answers, unless RESPONSE_CACHE_MB is 0."""
    if not settings.response_cache_mb:
        return app
    budget = settings.response_cache_mb * 1024 * 1024
    cache = ResponseCache(app, db.scopes, credential_cookies=credential_cookies, max_bytes=budget)
    if caches is not None:
        caches[name] = cache
    return cache


def build_router(settings: Settings, db: Database) -> PortRouter:
    """Both applications, the public port, the admin socket and metrics, bracketed by the database."""
    metrics = Metrics()
    operations = Operations(
        db,
        settings.backup_dir,
        settings.backup_keep,
        keep_days=settings.backup_keep_days,
        after=settings.backup_after,
        after_timeout=settings.backup_after_timeout,
    )
    # One limiter for both applications: a budget per client address covers the whole site.
    limiter = RateLimiter()
    caches: dict[str, ResponseCache] = {}
    api = api_app(settings, db, limiter, operations, caches)
    website = website_app(settings, db, limiter, caches)
    mounts = [
        Mount("backend", settings.backend_port, Observe(api, "backend", metrics)),
        Mount("frontend", settings.frontend_port, Observe(website, "frontend", metrics)),
        *operating_mounts(settings, db, operations, metrics),
    ]

    @asynccontextmanager
    async def database_lifespan() -> AsyncIterator[None]:
        # DuckDB calls block; keep them off the event loop that serves both ports.
        await asyncio.to_thread(prepare_database, db, settings)
        schedule = start_backup_schedule(settings, operations)
        try:
            yield
        finally:
            if schedule is not None:
                schedule.cancel()
            # Here, not after server.run(): uvicorn ends the process by re-raising the signal.
            if settings.admin_socket is not None:
                remove_socket_file(str(settings.admin_socket))
            await asyncio.to_thread(db.close)
            log.info("database closed")

    router = PortRouter(mounts, lifespan=database_lifespan, max_in_flight=settings.limit_concurrency)
    # An invalidated DuckDB instance answers nothing again: exit so the supervisor restarts us.
    db.on_fatal = functools.partial(router.stop, EXIT_FATAL)
    if settings.public_port is not None:
        router.add(public_mount(router, settings.public_port))
    _measure_limits(metrics, db, router)
    _measure_caches(metrics, caches)
    return router


def _measure_limits(metrics: Metrics, db: Database, router: PortRouter) -> None:
    """What the write lock and the caps cost the site's users, as gauges read at each scrape."""
    holds = db.lock_holds
    for name, documentation, read in (
        ("composite_write_transactions", "Write transactions committed or rolled back.", lambda: holds.count),
        (
            "composite_write_lock_held_seconds",
            "Seconds the write lock was held, in all.",
            lambda: holds.total,
        ),
        (
            "composite_write_lock_longest_hold_seconds",
            "The longest hold of the write lock.",
            lambda: holds.longest,
        ),
        (
            "composite_write_lock_waited_seconds",
            "Seconds writers waited for the lock, in all.",
            lambda: holds.waited,
        ),
        (
            "composite_write_lock_longest_wait_seconds",
            "The longest wait for the lock.",
            lambda: holds.longest_wait,
        ),
    ):
        metrics.gauge(name, documentation, read)
    metrics.labelled_gauge(
        "composite_write_lock_holds_longer_than",
        "Holds of the write lock longer than the bound, in seconds.",
        "seconds",
        lambda: {f"{bound:g}": float(n) for bound, n in zip(HOLD_BOUNDS, holds.longer_than, strict=True)},
    )
    metrics.labelled_gauge(
        "composite_requests_refused",
        "Requests answered 503 at the application's cap of requests in flight.",
        "app",
        lambda: {name: float(count) for name, count in router.refused.items()},
    )

    def refused_connections() -> dict[str, float]:
        names = {mount.port: mount.name for mount in router.mounts}
        return {names.get(port, str(port)): float(n) for port, n in router.refused_connections.items()}

    metrics.labelled_gauge(
        "composite_connections_refused",
        "Connections answered 503 at their port's cap of open connections.",
        "app",
        refused_connections,
    )


def _measure_caches(metrics: Metrics, caches: Mapping[str, ResponseCache]) -> None:
    """What the exact caches of anonymous answers hold and save, per application."""
    for stat, documentation in (
        ("hits", "Anonymous requests answered from the response cache."),
        ("misses", "Anonymous GETs the response cache sent on to the application."),
        ("not_modified", "Requests answered 304 by the response cache."),
        ("bytes", "Bytes of answers the response cache holds."),
        ("entries", "Answers the response cache holds."),
    ):
        metrics.labelled_gauge(
            f"composite_response_cache_{stat}",
            documentation,
            "app",
            lambda stat=stat: {name: float(getattr(cache.stats, stat)) for name, cache in caches.items()},
        )


def site_database(settings: Settings) -> Database:
    """The site's database, not yet open, with the disk space thresholds of its settings."""
    space = DiskSpace(
        settings.database_path.parent,
        reserve_bytes=settings.disk_reserve_mb * MIB,
        low_bytes=settings.disk_degraded_mb * MIB,
    )
    return Database(settings.database_path, threads=SERVER_QUERY_THREADS, space=space)


def prepare_database(db: Database, settings: Settings) -> None:
    """Open the database and bring its schema up to date."""
    db.open()
    try:
        db.migrate(MIGRATIONS_DIR, release=__version__)
        if indexed := reindex.catch_up(db):
            log.info("search index rebuilt over %d prompts", indexed)
        if settings.load_examples and (added := load_examples(db)):
            log.info("loaded %d example prompts into the empty database", added)
    except Exception:
        db.close()
        raise
    log.info("database %s ready", settings.database_path)


def main(
    environ: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env"), *, reload: bool = False
) -> int:
    """Run the composite server until it is told to stop; return the exit status."""
    if reload:
        # Development pages in every child the reloader starts (they read the environment).
        os.environ["DEBUG"] = "true"
    try:
        settings = Settings.from_env(os.environ if environ is None else environ, dotenv_path)
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG)
    configure_logging(settings.log_level, settings.log_format)
    if settings.secret_key_generated:
        log.warning("SECRET_KEY is not set: generated a temporary one (sessions end at restart)")
    db = site_database(settings)
    try:
        # Before any socket: the admin socket beside the database would otherwise be the
        # first to fail, and its message would not name the database.
        db.check_writable()
    except DatabaseError as exc:
        return fail(str(exc), EXIT_STARTUP)
    router = build_router(settings, db)
    if reload:
        # The parent only holds the sockets; each child opens the database and serves them.
        try:
            sockets = bind(router, serve_options(settings))
        except ServerError as exc:
            return fail(str(exc), EXIT_STARTUP)
        run_with_reload(functools.partial(_serve_reloaded, dotenv_path), sockets, [str(PACKAGE_DIR)])
        return 0
    try:
        return serve(router, serve_options(settings))
    finally:
        db.close()  # the lifespan closes it; this covers a start that never got that far


def _serve_reloaded(dotenv_path: Path | None, sockets: list[socket.socket]) -> None:
    """A reload child: the whole site built afresh from the environment, on the parent's sockets."""
    try:
        settings = Settings.from_env(os.environ, dotenv_path)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)  # the supervisor keeps watching; the next save tries again
        return
    configure_logging(settings.log_level, settings.log_format)
    db = site_database(settings)
    try:
        serve(build_router(settings, db), serve_options(settings), sockets)
    finally:
        db.close()


def serve_options(settings: Settings) -> ServeOptions:
    """How the one server runs the site, from its settings."""
    return ServeOptions(
        host=settings.host,
        log_level=settings.log_level,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        shutdown_timeout=settings.shutdown_timeout,
        # Each port's cap: open connections (idle ones included) may be several times the
        # requests in flight.
        max_connections=settings.limit_concurrency * CONNECTIONS_PER_REQUEST,
        body_timeout=settings.body_timeout,
        body_min_rate=settings.body_min_rate,
        send_timeout=settings.send_timeout,
    )


def run(argv: Sequence[str] | None = None) -> None:
    """Entry point for ``python app.py``: exit quietly on Ctrl-C after a graceful stop."""
    from composite.cli import SITE_DESCRIPTION

    # The site is configured by its environment; --help says so rather than starting.
    parser = argparse.ArgumentParser(prog="python app.py", description=SITE_DESCRIPTION)
    parser.add_argument(
        "--reload",
        action="store_true",
        help="development: restart on every change of code, templates or static files, with "
        "tracebacks on error pages (DEBUG=true); every port keeps its socket",
    )
    args = parser.parse_args(argv)
    try:
        status = main(reload=args.reload)
    except KeyboardInterrupt:
        # uvicorn re-raises SIGINT once it has shut down gracefully.
        status = 130
    sys.exit(status)
