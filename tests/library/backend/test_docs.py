"""The API documentation page: Swagger UI from this port, under a policy with no inline script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from composite.library.policies import DOCS_POLICY, api_policy
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.support.process import ServerProcess

CONTENT_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def referenced(page: str) -> list[str]:
    """Every URL the page loads: scripts, styles and icons."""
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def test_the_page_loads_only_its_own_files(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script>" not in page.text  # no inline script: it is in docs.js
    urls = referenced(page.text)
    assert sorted(url.rsplit("/", 1)[1] for url in urls) == sorted(CONTENT_TYPES)
    for url in urls:
        assert url.startswith("/api/docs/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"] == CONTENT_TYPES[url.rsplit("/", 1)[1]]
        assert "max-age=86400" in asset.headers["cache-control"]
    assert b"SwaggerUIBundle" in client.get("/api/docs/static/swagger-ui-bundle.js").content


@pytest.mark.parametrize("name", ["index.html", "swagger-ui-bundle.js.map", "..%2F..%2Fapp.py", "%00"])
def test_only_the_pages_files_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"/api/docs/static/{name}")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_the_docs_policy_allows_no_inline_script_and_no_other_host() -> None:
    assert api_policy("/api/docs") == DOCS_POLICY
    assert api_policy("/api/docs/static/docs.js") == DOCS_POLICY
    assert "unsafe-inline" not in DOCS_POLICY
    assert "unsafe-eval" not in DOCS_POLICY
    assert not re.search(r"https?:|\*", DOCS_POLICY)
    assert "script-src 'self';" in DOCS_POLICY


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process."""
    process = ServerProcess(tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def test_the_real_process_serves_the_page_and_its_files_under_the_policy(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.backend) as client:
        page = client.get("/api/docs")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == DOCS_POLICY
        for url in referenced(page.text):
            asset = client.get(url)
            assert (asset.status_code, asset.headers["content-type"]) == (
                200,
                CONTENT_TYPES[url.rsplit("/", 1)[1]],
            )
            assert asset.headers["x-content-type-options"] == "nosniff"
        assert client.get("/api/prompts").headers["content-security-policy"] == api_policy("/api/prompts")


@pytest.mark.browser
def test_swagger_ui_renders_offline_with_nothing_blocked(server: ServerProcess) -> None:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            problems: list[str] = []
            # A script or style the policy blocks shows up as a console error.
            page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            hosts: set[str] = set()
            page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
            page.goto(f"{server.backend}/api/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            spec = httpx.get(f"{server.backend}/api/openapi.json").json()
            operations = sum(len(methods) for methods in spec["paths"].values())
            assert page.locator(".opblock").count() == operations  # every operation of the document
            assert "prompt library API" in page.locator(".info .title").first.inner_text()
            assert problems == []
            assert hosts == {f"127.0.0.1:{server.backend_port}"}
        finally:
            browser.close()
