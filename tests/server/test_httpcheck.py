"""HTTP rules on every mount, on the real server: one Host, one Date, HEAD wherever GET works."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from flask import Flask, send_file

from composite.server import Mount, PortRouter, wsgi_app
from tests.support.live import header_values, raw_request, serving


def make_api() -> FastAPI:
    """A FastAPI app with one GET route."""
    api = FastAPI()

    @api.get("/item")
    def read_item() -> dict[str, str]:
        """One item."""
        return {"name": "lamp"}

    return api


def make_site(static: Path) -> Flask:
    """A Flask app serving a file the way its static files are served."""
    site = Flask(__name__)

    @site.get("/file")
    def read_file() -> object:
        return send_file(static)

    return site


@pytest.fixture
def ports(tmp_path: Path):
    static = tmp_path / "style.css"
    static.write_text("body { color: black }\n")
    router = PortRouter([Mount("api", 0, make_api()), Mount("site", 0, wsgi_app(make_site(static), 2))])
    with serving(router) as bound:
        yield bound


@pytest.mark.parametrize(
    "headers",
    [b"", b"Host: a\r\nHost: b\r\n"],
    ids=["no host", "two hosts"],
)
def test_http11_request_without_exactly_one_host_gets_400(ports: list[int], headers: bytes) -> None:
    for port in ports:
        response = raw_request(port, b"GET /item HTTP/1.1\r\n" + headers + b"Connection: close\r\n\r\n")
        assert response.startswith(b"HTTP/1.1 400 "), response
        assert b"exactly one Host header" in response


def test_http10_request_without_host_is_served(ports: list[int]) -> None:
    response = raw_request(ports[0], b"GET /item HTTP/1.0\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 200 ")


def test_every_response_has_one_date_header(ports: list[int]) -> None:
    api, site = ports
    for port, path in [(api, b"/item"), (site, b"/file"), (site, b"/missing")]:
        response = raw_request(port, b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert len(header_values(response, b"date")) == 1, response


@pytest.mark.parametrize(("mount", "path"), [(0, "/item"), (1, "/file")], ids=["fastapi", "flask"])
def test_head_answers_wherever_get_does(ports: list[int], mount: int, path: str) -> None:
    url = f"http://127.0.0.1:{ports[mount]}{path}"
    get, head = httpx.get(url), httpx.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))
