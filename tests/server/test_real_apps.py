"""Third-party applications on the real ``composite serve``: what they expect of a WSGI server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import composite
from tests.server.test_cli import APPS, STOPPED, Served
from tests.support.process import free_port


def chunks() -> Iterator[bytes]:
    """A body httpx sends with Transfer-Encoding: chunked."""
    yield b"a" * 1000
    yield b"b" * 2345


@pytest.fixture
def wsgi_apps(tmp_path: Path) -> Iterator[tuple[Served, int, int]]:
    """httpbin's chunked rule and a Django project, each on its port."""
    plain, site = free_port(), free_port()
    served = Served(
        tmp_path,
        "--mount",
        f"{plain}={APPS}.chunkcheck:app,name=plain",
        "--mount",
        f"{site}={APPS}.djangosite:application,name=django",
    )
    try:
        served.wait_ready(plain, site)
        yield served, plain, site
    finally:
        served.stop()


def test_a_chunked_upload_reaches_an_app_that_checks_like_httpbin(wsgi_apps) -> None:
    _, plain, _ = wsgi_apps
    answer = httpx.post(f"http://127.0.0.1:{plain}/post", content=chunks())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "length": 3345,
        "server": f"composite/{composite.__version__}",
        "input_terminated": True,
    }


def test_django_sees_the_server_and_sends_a_file_through_the_file_wrapper(wsgi_apps) -> None:
    from tests.server.apps import djangosite

    _, _, site = wsgi_apps
    assert httpx.get(f"http://127.0.0.1:{site}/").json() == {
        "SERVER_SOFTWARE": f"composite/{composite.__version__}",
        "wsgi.input_terminated": True,
        "file_wrapper": "<class 'composite.server.wsgi.FileWrapper'>",
    }
    download = httpx.get(f"http://127.0.0.1:{site}/download")
    assert download.status_code == 200
    assert int(download.headers["content-length"]) == djangosite.DOWNLOAD_SIZE
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(djangosite.download_bytes()).digest()


def test_wsgi_errors_are_warnings_and_django_lines_are_written_once(wsgi_apps) -> None:
    served, plain, site = wsgi_apps
    assert httpx.get(f"http://127.0.0.1:{plain}/errors").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{site}/missing").status_code == 404
    assert served.stop() in STOPPED
    lines = served.log().splitlines()
    for text in ("first line from the application", "second line"):
        [line] = [line for line in lines if line.endswith(text)]
        assert " WARNING composite.server.wsgi: " in line
    # Django's own handler writes it; the server's must not write it again.
    assert [line for line in lines if "Not Found: /missing" in line] == ["Not Found: /missing"]
