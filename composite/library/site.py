"""Compose the site: settings, one database, both applications, one server."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from composite.config import ConfigError, Settings
from composite.db import SERVER_QUERY_THREADS, Database
from composite.library import search
from composite.library.backend import create_backend
from composite.library.examples import load_examples
from composite.library.frontend import create_frontend
from composite.library.migrations import MIGRATIONS_DIR
from composite.server import Mount, PortRouter, ServerError, make_server, wsgi_app
from composite.server.headers import SecurityHeaders, api_policy, site_policy
from composite.server.limits import BodyLimit

log = logging.getLogger("composite")

EXIT_CONFIG = 2
EXIT_STARTUP = 3


def build_router(settings: Settings, db: Database) -> PortRouter:
    """Both applications on their ports, bracketed by the database's lifespan."""
    backend = create_backend(settings, db)
    frontend = create_frontend(settings, db)
    limit = settings.max_body_bytes
    backend_app = SecurityHeaders(
        BodyLimit(backend, limit, json_errors=True), api_policy, hsts=settings.production
    )
    frontend_app = SecurityHeaders(
        BodyLimit(wsgi_app(frontend, settings.frontend_threads), limit), site_policy, hsts=settings.production
    )
    mounts = [
        Mount("backend", settings.backend_port, backend_app),
        Mount("frontend", settings.frontend_port, frontend_app),
    ]

    @asynccontextmanager
    async def database_lifespan() -> AsyncIterator[None]:
        # DuckDB calls block; keep them off the event loop that serves both ports.
        await asyncio.to_thread(prepare_database, db, settings)
        try:
            yield
        finally:
            await asyncio.to_thread(db.close)
            log.info("database closed")

    return PortRouter(mounts, lifespan=database_lifespan, max_in_flight=settings.limit_concurrency)


def prepare_database(db: Database, settings: Settings) -> None:
    """Open the database and bring its schema up to date."""
    db.open()
    try:
        db.migrate(MIGRATIONS_DIR)
        if indexed := search.catch_up(db):
            log.info("search index rebuilt over %d prompts", indexed)
        if settings.load_examples and (added := load_examples(db)):
            log.info("loaded %d example prompts into the empty database", added)
    except Exception:
        db.close()
        raise
    log.info("database %s ready", settings.database_path)


def configure_logging(level: str) -> None:
    """One log format on stderr for the server, both applications and the access log."""
    numeric = logging.DEBUG if level == "trace" else getattr(logging, level.upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # The router reports why start-up failed; uvicorn's generic line would only repeat it.
    logging.getLogger("uvicorn.error").addFilter(
        lambda record: record.getMessage() != "Application startup failed. Exiting."
    )


def fail(message: str, status: int) -> int:
    """Tell the operator what is wrong in one line and return the exit status."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    return status


def main(environ: Mapping[str, str] | None = None, dotenv_path: Path | None = Path(".env")) -> int:
    """Run the composite server until it is told to stop; return the exit status."""
    try:
        settings = Settings.from_env(os.environ if environ is None else environ, dotenv_path)
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG)
    configure_logging(settings.log_level)
    if settings.secret_key_generated:
        log.warning("SECRET_KEY is not set: generated a temporary one (sessions end at restart)")

    db = Database(settings.database_path, threads=SERVER_QUERY_THREADS)
    router = build_router(settings, db)
    try:
        sockets = router.bind(settings.host)
    except ServerError as exc:
        return fail(str(exc), EXIT_STARTUP)
    server = make_server(
        router,
        log_level=settings.log_level,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        shutdown_timeout=settings.shutdown_timeout,
        # Open connections (idle ones included) may be several times the requests in flight.
        limit_concurrency=settings.limit_concurrency * 4,
    )
    # Both frameworks' modules, routes and templates live as long as the process: freezing
    # them keeps every later garbage collection from walking them again on each request burst.
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
        db.close()
    if router.startup_error is not None:
        return fail(router.startup_error, EXIT_STARTUP)
    return 0


def run(argv: Sequence[str] | None = None) -> None:
    """Entry point for ``python app.py``: exit quietly on Ctrl-C after a graceful stop."""
    from composite.cli import SITE_DESCRIPTION

    # No options: the site is configured by its environment. --help says so rather than starting.
    argparse.ArgumentParser(prog="python app.py", description=SITE_DESCRIPTION).parse_args(argv)
    try:
        status = main()
    except KeyboardInterrupt:
        # uvicorn re-raises SIGINT once it has shut down gracefully.
        status = 130
    sys.exit(status)
