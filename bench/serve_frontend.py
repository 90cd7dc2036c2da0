"""Frontend alone: the same Flask app as a plain WSGI application, for waitress or gunicorn.

``python -m bench.serve_frontend DATABASE PORT`` serves it under waitress (its default four
threads) over a read-write database. gunicorn loads ``bench.serve_frontend:create_app()``
in each worker after the fork; DuckDB lets only one process open a file read-write, so
with ``BENCH_READ_ONLY=1`` every worker opens the database read-only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask

from composite.config import Settings
from composite.db import SERVER_QUERY_THREADS, Database
from composite.library.frontend import create_frontend
from composite.library.migrations import MIGRATIONS_DIR

SECRET = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a local benchmark's key


def create_app(database: str | None = None) -> Flask:
    """The website over its own connection to the database in BENCH_DATABASE."""
    path = Path(database or os.environ["BENCH_DATABASE"])
    read_only = os.environ.get("BENCH_READ_ONLY") == "1"
    settings = Settings(database_path=path, secret_key=SECRET, load_examples=False)
    db = Database(path, read_only=read_only, threads=SERVER_QUERY_THREADS).open()
    if not read_only:
        db.migrate(MIGRATIONS_DIR)
    return create_frontend(settings, db)


def main(argv: list[str]) -> None:
    """Serve the website under waitress on 127.0.0.1:PORT until stopped."""
    import waitress

    app = create_app(argv[0])
    waitress.serve(app, host="127.0.0.1", port=int(argv[1]), _quiet=True)


if __name__ == "__main__":
    main(sys.argv[1:])
