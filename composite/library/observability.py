"""The site's operating mounts (admin socket, metrics port), its gauges and its backup schedule."""

from __future__ import annotations

import asyncio
import logging
import os

from flask import Flask, request

from composite.config import Settings
from composite.db import Database
from composite.library.admin import create_admin
from composite.library.operations import Operations, run_backup_schedule
from composite.server import Mount
from composite.server.metrics import Metrics, route_probe
from composite.server.observe import Observe
from composite.server.requestid import set_route
from composite.server.unix import MAX_SOCKET_PATH

log = logging.getLogger("composite")


def record_flask_routes(app: Flask) -> None:
    """Report the rule a request matched (``/prompts/<int:prompt_id>``) to the metrics."""

    @app.before_request
    def _record_route() -> None:
        if request.url_rule is not None:
            set_route(request.url_rule.rule)


def operating_mounts(
    settings: Settings, db: Database, operations: Operations, metrics: Metrics
) -> list[Mount]:
    """The admin socket and the metrics port, each when configured; the gauges they report."""
    metrics.gauge(
        "composite_database_file_bytes",
        "Size of the database file.",
        lambda: operations.file_sizes()["file_bytes"],
    )
    metrics.gauge(
        "composite_database_wal_bytes",
        "Size of the database's write-ahead log (0 after a checkpoint).",
        lambda: operations.file_sizes()["wal_bytes"],
    )
    metrics.gauge(
        "composite_last_backup_age_seconds",
        "Seconds since the newest backup (absent before the first).",
        operations.newest_backup_age,
    )
    metrics.gauge(
        "composite_disk_free_bytes",
        "Free bytes on the file system holding the database (absent when unreadable).",
        db.space.free_bytes,
    )
    metrics.gauge("composite_uptime_seconds", "Seconds since the process started.", operations.uptime)
    mounts = []
    socket_path = settings.admin_socket
    if socket_path is not None and len(os.fsencode(socket_path)) > MAX_SOCKET_PATH:
        # A deep data directory must not keep the site from starting: it runs without the socket.
        log.warning(
            "admin socket off: %s is longer than %d bytes; set ADMIN_SOCKET", socket_path, MAX_SOCKET_PATH
        )
        socket_path = None
    if socket_path is not None:
        admin = route_probe(create_admin(db, operations, metrics))
        mounts.append(Mount("admin", 0, Observe(admin, "admin"), path=str(socket_path)))
    if settings.metrics_port:
        mounts.append(Mount("metrics", settings.metrics_port, metrics.app(), host=settings.metrics_host))
    return mounts


def start_backup_schedule(settings: Settings, operations: Operations) -> asyncio.Task[None] | None:
    """Start the scheduled backups when BACKUP_INTERVAL is set (the caller cancels the task)."""
    if not settings.backup_interval:
        return None
    return asyncio.create_task(run_backup_schedule(operations, settings.backup_interval), name="backups")
