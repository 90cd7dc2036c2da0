"""Backend alone: the same FastAPI app, wrapped as in the composite, under plain uvicorn.

Usage: ``python -m bench.serve_backend DATABASE PORT``. This is how the API would run in
the split deployment: its own process, its own database connection.
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from composite.config import Settings
from composite.db import SERVER_QUERY_THREADS, Database
from composite.library.migrations import MIGRATIONS_DIR
from composite.library.site import api_app

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a local benchmark's key


def main(argv: list[str]) -> None:
    """Open and migrate the database, then serve the API on 127.0.0.1:PORT until stopped."""
    database, port = Path(argv[0]), int(argv[1])
    settings = Settings(database_path=database, backend_port=port, secret_key=SECRET, load_examples=False)
    db = Database(database, threads=SERVER_QUERY_THREADS).open()
    db.migrate(MIGRATIONS_DIR)
    # The same function that builds the API for python app.py, so the comparison cannot drift.
    wrapped = api_app(settings, db)
    try:
        uvicorn.run(
            wrapped,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            limit_concurrency=settings.limit_concurrency,
            server_header=False,
            # As the composite: X-Forwarded-* trusted only from FORWARDED_ALLOW_IPS (none by
            # default). uvicorn.run's default would add a proxy-headers middleware to every request.
            proxy_headers=bool(settings.forwarded_allow_ips),
            forwarded_allow_ips=settings.forwarded_allow_ips or "",
        )
    finally:
        db.close()


if __name__ == "__main__":
    main(sys.argv[1:])
