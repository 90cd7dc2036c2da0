"""Fixtures: a fresh, migrated database per test and clients for both applications."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from flask.testing import FlaskClient

from composite.config import Settings
from composite.db import Database
from composite.library.backend import create_backend
from composite.library.frontend import create_frontend
from composite.library.migrations import MIGRATIONS_DIR
from tests.support.process import ServerProcess


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own database file, no example data."""
    return Settings(
        database_path=tmp_path / "data" / "app.db",
        secret_key="test-secret-key-that-is-long-enough-0123456789",
        load_examples=False,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """An open, migrated database, closed at teardown."""
    database = Database(settings.database_path).open()
    database.migrate(MIGRATIONS_DIR)
    yield database
    database.close()


@pytest.fixture
def backend_client(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client for the API, in process, over the test database."""
    with TestClient(create_backend(settings, db)) as client:
        yield client


@pytest.fixture
def frontend_client(settings: Settings, db: Database) -> FlaskClient:
    """A client for the website, in process, over the test database."""
    app = create_frontend(settings, db)
    app.config["TESTING"] = True
    return app.test_client()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real ``python app.py`` on free loopback ports, stopped at teardown."""
    process = ServerProcess(tmp_path).start()
    yield process
    process.stop()


@pytest.fixture
def make_user(db: Database):
    """Register users on the test database: ``make_user("alice")``."""
    from composite.library.accounts import create_user

    def make(username: str, password: str = "password123"):
        return create_user(db, username, password)

    return make


@pytest.fixture(autouse=True, scope="session")
def _stop_left_over_servers() -> Iterator[None]:
    """Stop any real server process a failed test left running."""
    yield
    for process in list(ServerProcess.started):
        process.stop()
