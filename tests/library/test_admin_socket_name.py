"""The admin socket is named after its database: two databases in one directory both serve."""

from __future__ import annotations

from pathlib import Path

from tests.support.process import ServerProcess


def test_two_databases_in_one_directory_each_get_their_own_admin_socket(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ServerProcess(tmp_path, env={"DATABASE_PATH": str(data / "one.db")})
    second = ServerProcess(tmp_path, env={"DATABASE_PATH": str(data / "two.db")})
    try:
        first.start()
        second.start()  # refused before: "socket .../admin.sock (admin) is in use by another server"
        assert (data / "one.db.admin.sock").is_socket()
        assert (data / "two.db.admin.sock").is_socket()
    finally:
        first.stop()
        second.stop()
    assert not (data / "one.db.admin.sock").exists()
