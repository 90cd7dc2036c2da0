"""``composite serve`` as a real subprocess: outsiders' Flask and FastAPI apps in one process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.process import ROOT, free_port

APPS = "tests.server.apps"
# The checkout, not an installed copy: the package under test (its install is tested apart).
# uvicorn re-raises the signal once it has stopped gracefully.
STOPPED = (0, -signal.SIGTERM)
SERVE_ENV = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}


class Served:
    """One ``composite serve`` process on free ports, stopped at the end of the test."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.log_path = tmp_path / "serve.log"
        self.log_file = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "composite",
                "serve",
                "--host",
                "127.0.0.1",
                "--app-dir",
                str(ROOT),
                *args,
            ],
            cwd=tmp_path,
            stdout=self.log_file,
            stderr=self.log_file,
            env={**SERVE_ENV, "FLASKR_DATABASE": str(tmp_path / "flaskr.sqlite")},
        )

    def wait_ready(self, *ports: int, timeout: float = 20.0) -> None:
        """Until every port accepts a request (any answer)."""
        deadline = time.monotonic() + timeout
        pending = set(ports)
        while pending:
            if self.proc.poll() is not None:
                raise RuntimeError(f"composite serve exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(self.log())
            for port in list(pending):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                    pending.discard(port)
                except httpx.HTTPError:
                    time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode

    def log(self) -> str:
        """What the process wrote so far."""
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def three_apps(tmp_path: Path) -> Iterator[tuple[Served, int, int, int]]:
    """flaskr, the FastAPI app and a second FastAPI app on three ports of one process."""
    web, api, second = free_port(), free_port(), free_port()
    served = Served(
        tmp_path,
        "--mount",
        f"{web}={APPS}.flaskr:create_app()",
        "--mount",
        f"{api}={APPS}.api:app",
        "--mount",
        f"{second}={APPS}.second:build(),name=second",
        "--database",
        str(tmp_path / "shared.db"),
    )
    try:
        served.wait_ready(web, api, second)
        yield served, web, api, second
    finally:
        served.stop()


def test_flask_app_with_its_own_sqlite_file(three_apps) -> None:
    served, web, _, _ = three_apps
    base = f"http://127.0.0.1:{web}"
    created = httpx.post(f"{base}/create", data={"title": "Hello"})
    assert created.status_code == 302
    listing = httpx.get(f"{base}/").json()
    assert listing["posts"] == ["Hello"]
    assert listing["multiprocess"] is False  # one process, whatever a2wsgi says
    assert "flaskr" in served.log()  # the access log names the mount


def test_chunked_body_reaches_a_plain_wsgi_app(three_apps) -> None:
    _, web, _, _ = three_apps

    def chunks() -> Iterator[bytes]:
        yield b"a" * 1000
        yield b"b" * 2345

    answer = httpx.post(f"http://127.0.0.1:{web}/echo-length", content=chunks())
    assert answer.json() == {"length": 3345}


def test_wsgi_streaming_response(three_apps) -> None:
    _, web, _, _ = three_apps
    answer = httpx.get(f"http://127.0.0.1:{web}/stream?n=4")
    assert answer.text == "".join(f"chunk {i}\n" for i in range(4))


def test_each_fastapi_app_has_its_own_lifespan_state(three_apps) -> None:
    _, _, api, second = three_apps
    assert httpx.get(f"http://127.0.0.1:{api}/who").json() == {"who": "api"}
    assert httpx.get(f"http://127.0.0.1:{second}/who").json() == {"who": "second"}


def test_websocket_sse_download_and_upload(three_apps) -> None:
    _, _, api, _ = three_apps
    with connect(f"ws://127.0.0.1:{api}/ws") as websocket:
        websocket.send("ping")
        assert websocket.recv(timeout=5) == "echo: ping"
    with httpx.stream("GET", f"http://127.0.0.1:{api}/events") as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        assert [line for line in events.iter_lines() if line] == [f"data: event {i}" for i in range(3)]
    download = httpx.get(f"http://127.0.0.1:{api}/download")
    assert len(download.content) == 32 * 65536
    upload = httpx.post(f"http://127.0.0.1:{api}/upload", files={"file": ("notes.txt", b"n" * 200_000)})
    assert upload.json() == {"name": "notes.txt", "size": 200_000}


def test_background_task_runs_after_the_response(three_apps, tmp_path: Path) -> None:
    _, _, api, _ = three_apps
    marker = tmp_path / "marker.txt"
    assert httpx.post(f"http://127.0.0.1:{api}/later", params={"marker": str(marker)}).json() == {
        "queued": True
    }
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "done"


def test_shared_database_is_reached_by_mounted_apps(three_apps, tmp_path: Path) -> None:
    served, _, api, _ = three_apps
    base = f"http://127.0.0.1:{api}"
    assert httpx.post(f"{base}/shared", params={"text": "one"}).json() == {"stored": True}
    assert httpx.get(f"{base}/shared").json() == {"notes": 1}
    assert served.stop() in STOPPED
    # Closed and checkpointed at shutdown: another process may open the file.
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import duckdb; con = duckdb.connect({str(tmp_path / 'shared.db')!r});"
            " print(con.execute('SELECT count(*) FROM notes').fetchone()[0])",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.stdout.strip() == "1", check.stderr


def test_config_file_holds_the_same_options(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "composite.toml"
    config.write_text(
        f'host = "127.0.0.1"\n\n[[mount]]\nport = {port}\napp = "{APPS}.second:build()"\nname = "from-file"\n'
    )
    served = Served(tmp_path, "--config", str(config))
    try:
        served.wait_ready(port)
        assert httpx.get(f"http://127.0.0.1:{port}/who").json() == {"who": "second"}
        assert "from-file listening on http://127.0.0.1:" in served.log()
    finally:
        assert served.stop() in STOPPED


# A small ASGI app the option tests mount when the app itself does not matter.
WHO = f"{APPS}.second:build()"


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``composite serve`` that must refuse to start: its output and status."""
    return subprocess.run(
        [sys.executable, "-m", "composite", "serve", "--app-dir", str(ROOT), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env=SERVE_ENV,
    )


def refusal(tmp_path: Path, *args: str) -> str:
    """What ``composite serve ARGS`` wrote to stderr, which must have exited with status 2."""
    result = run_serve(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    return result.stderr


def config_file(tmp_path: Path, top: str) -> Path:
    """A composite.toml holding ``top`` (top-level settings) and one mount of WHO on a free port."""
    config = tmp_path / "composite.toml"
    config.write_text(f'{top}\n[[mount]]\nport = {free_port()}\napp = "{WHO}"\n')
    return config


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ("12000=no_such_module_here:app", "no module named 'no_such_module_here'"),
        (f"12000={APPS}.second:missing", "has no attribute 'missing'"),
        (f"12000={APPS}.second:not_an_app", "is not an ASGI or WSGI application"),
        (f"70000={APPS}.second:build()", "is not a port number"),
        ("12000=justtext", "is not a target"),
        (f"12000={APPS}.second:build(),threads=none", "threads must be a whole number"),
        (f"12000={APPS}.second:build(),colour=red", "unknown option 'colour'"),
    ],
)
def test_a_bad_mount_is_one_line_and_status_2(tmp_path: Path, mount: str, message: str) -> None:
    result = run_serve(tmp_path, "--mount", mount)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.stderr


def test_two_mounts_on_one_port_are_refused(tmp_path: Path) -> None:
    result = run_serve(
        tmp_path, "--mount", f"12000={APPS}.api:app", "--mount", f"12000={APPS}.second:build()"
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: port 12000 has two mounts: {APPS}.api:app and {APPS}.second:build()"
    )


def test_bad_config_file_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[[mount]]\nport = 1\napp = \n")
    result = run_serve(tmp_path, "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: --config {config}: not valid TOML")
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_has_help() -> None:
    for args in ([], ["serve"], ["site"]):
        result = subprocess.run(
            [sys.executable, "-m", "composite", *args, "--help"],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: composite")
    site = subprocess.run(
        [sys.executable, "app.py", "--help"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert site.returncode == 0
    assert site.stdout.startswith("usage: python app.py")
    assert "BACKEND_PORT" in site.stdout


def test_serve_output_is_json_free_of_tracebacks_on_stop(three_apps) -> None:
    served, *_ = three_apps
    assert served.stop() in STOPPED
    assert "Traceback" not in served.log()
    json.dumps(served.log())  # the log is text
