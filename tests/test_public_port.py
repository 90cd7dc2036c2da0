"""PUBLIC_PORT: the whole site on one port answers as it does behind the project's nginx.

One real process serves its two ports, with real nginx in front of them, and the public
port; every request is sent both ways and must have the same outcome.
"""

from __future__ import annotations

import gzip
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.nginx import Nginx, find_nginx, loopback_env, make_self_signed, require_tool
from tests.support.process import ServerProcess, free_port
from tests.support.web import CSRF

BODY_LIMIT = 1024 * 1024


class Ways:
    """The same site reached through nginx and through the public port."""

    def __init__(self, app: ServerProcess, nginx: Nginx, public_port: int) -> None:
        self.app = app
        self.nginx = nginx
        self.bases = {
            "nginx": f"http://{nginx.env['NGINX_HTTP_PORT']}",
            "public": f"http://127.0.0.1:{public_port}",
        }

    def clients(self, local_address: str = "127.0.0.2") -> dict[str, httpx.Client]:
        """One client per way, connecting from local_address."""
        return {
            way: httpx.Client(
                base_url=base, transport=httpx.HTTPTransport(local_address=local_address), timeout=15
            )
            for way, base in self.bases.items()
        }


@pytest.fixture(scope="module")
def ways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ways]:
    """python app.py with PUBLIC_PORT, trusting 127.0.0.1 as its proxy, and nginx on its two ports."""
    nginx_bin = require_tool("nginx", find_nginx())
    cert, key = make_self_signed(tmp_path_factory.mktemp("certs"))
    public_port = free_port()
    app = ServerProcess(
        tmp_path_factory.mktemp("app"),
        env={"TEST_ENDPOINTS": "true", "FORWARDED_ALLOW_IPS": "127.0.0.1", "PUBLIC_PORT": str(public_port)},
    )
    env = loopback_env(
        app.backend_port, app.frontend_port, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", cert, key
    )
    nginx = Nginx(nginx_bin, tmp_path_factory.mktemp("nginx"), env)
    try:
        app.start()
        nginx.prepare().start()
        yield Ways(app, nginx, public_port)
    finally:
        nginx.stop()
        app.stop()


def outcome(response: httpx.Response) -> dict[str, Any]:
    """What a client can rely on in an answer: status, type, redirect, JSON body."""
    kind = response.headers.get("content-type", "").split(";")[0]
    seen: dict[str, Any] = {"status": response.status_code, "type": kind}
    if "location" in response.headers:
        seen["location"] = re.sub(r"/\d+$", "/<id>", response.headers["location"])
    if kind == "application/json" and response.status_code != 413:
        body = response.json()
        seen["keys"] = sorted(body) if isinstance(body, dict) else len(body)
    return seen


def both(ways: Ways, method: str, path: str, **kwargs: Any) -> dict[str, dict[str, Any]]:
    """The outcome of one request sent each way."""
    results = {}
    for way, client in ways.clients().items():
        with client:
            results[way] = outcome(client.request(method, path, **kwargs))
    return results


@pytest.mark.parametrize(
    "path",
    ["/api/health", "/api/openapi.json", "/", "/healthz", "/api", "/apiary", "/api/nowhere", "/nowhere"],
)
def test_reads_and_404s_have_the_same_outcome(ways: Ways, path: str) -> None:
    results = both(ways, "GET", path)
    assert results["nginx"] == results["public"], results


def test_api_reads_and_writes_with_a_token_the_same_way(ways: Ways) -> None:
    runs = {}
    for way, client in ways.clients().items():
        with client:
            name = f"api-{way}"
            steps = [client.post("/api/users", json={"username": name, "password": "password123"})]
            steps.append(client.post("/api/tokens", json={"username": name, "password": "password123"}))
            auth = {"Authorization": f"Bearer {steps[-1].json()['token']}"}
            steps.append(client.post("/api/prompts", json={"title": "T", "body": "B {{x}}"}, headers=auth))
            prompt_id = steps[-1].json()["id"]
            steps.append(client.get(f"/api/prompts/{prompt_id}", headers=auth))
            steps.append(client.patch(f"/api/prompts/{prompt_id}", json={"body": "C"}, headers=auth))
            steps.append(client.get("/api/prompts", params={"author": name}, headers=auth))
            runs[way] = [outcome(step) for step in steps]
    assert runs["nginx"] == runs["public"], runs
    assert [step["status"] for step in runs["public"]] == [201, 201, 201, 200, 200, 200]


def test_website_login_with_csrf_and_a_form_post_the_same_way(ways: Ways) -> None:
    runs = {}
    for way, client in ways.clients().items():
        with client:
            token = CSRF.search(client.get("/register").text)
            assert token, way
            name = f"web-{way}"
            form = {
                "csrf_token": token.group(1),
                "username": name,
                "password": "password123",
                "confirm": "password123",
            }
            steps = [client.post("/register", data=form)]
            home = client.get("/")
            assert name in home.text
            token = CSRF.search(client.get("/prompts/new").text)
            assert token, way
            created = client.post(
                "/prompts/new",
                data={"csrf_token": token.group(1), "title": "Form", "body": "Body", "visibility": "public"},
            )
            assert "location" in created.headers, (way, created.status_code, created.text[:300])
            steps += [home, created, client.get(created.headers["location"])]
            cookie = client.cookies
            assert cookie, way
            runs[way] = [outcome(step) for step in steps]
    assert runs["nginx"] == runs["public"], runs
    assert [step["status"] for step in runs["public"]] == [302, 200, 302, 200]


@pytest.mark.parametrize("path", ["/api/users", "/login"])
def test_a_body_over_the_limit_is_refused_both_ways(ways: Ways, path: str) -> None:
    for way, client in ways.clients().items():
        with client:
            refused = client.post(path, content=b"x" * (BODY_LIMIT + 1))
        assert refused.status_code == 413, (way, refused.text[:200])


def test_static_files_carry_the_same_cache_headers(ways: Ways) -> None:
    seen = {}
    for way, client in ways.clients().items():
        with client:
            page = client.get("/")
            href = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', page.text)
            assert href is not None, (way, page.text[:500])
            versioned = client.get(href.group(1))
            plain = client.get("/static/style.css")
        seen[way] = (
            versioned.status_code,
            versioned.headers.get_list("cache-control"),
            "immutable" in plain.headers.get("cache-control", ""),
            page.headers.get("cache-control"),
            versioned.content,
        )
    assert seen["nginx"] == seen["public"]
    assert seen["public"][:4] == (200, ["public, max-age=31536000, immutable"], False, "public, no-cache")


@pytest.mark.parametrize("path", ["/", "/static/style.css", "/api/openapi.json"])
def test_text_is_gzipped_both_ways(ways: Ways, path: str) -> None:
    for way, client in ways.clients().items():
        with client:
            zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
            with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as raw:
                compressed = b"".join(raw.iter_raw())
            plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert zipped.headers.get("content-encoding") == "gzip", way
        assert "accept-encoding" in zipped.headers.get("vary", "").lower(), way
        assert "content-encoding" not in plain.headers, way
        assert gzip.decompress(compressed) == plain.content, way


def echo(client: httpx.Client, **headers: str) -> dict[str, dict[str, str]]:
    """What each application saw of a request."""
    return {
        app: client.get(path, headers=headers).json()
        for app, path in (("backend", "/api/_echo"), ("frontend", "/_echo"))
    }


def test_forged_forwarded_headers_from_an_untrusted_peer_are_ignored_both_ways(ways: Ways) -> None:
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    for way, client in ways.clients("127.0.0.2").items():
        with client:
            seen = echo(client, **forged)
        for app in ("backend", "frontend"):
            assert (seen[app]["client"], seen[app]["scheme"]) == ("127.0.0.2", "http"), (way, seen)


def test_the_platform_proxy_is_trusted_on_the_public_port(ways: Ways) -> None:
    # 127.0.0.1 is FORWARDED_ALLOW_IPS here: the platform's proxy in front of the public port.
    client = httpx.Client(
        base_url=ways.bases["public"], transport=httpx.HTTPTransport(local_address="127.0.0.1")
    )
    with client:
        seen = echo(client, **{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"})
    for app in ("backend", "frontend"):
        assert (seen[app]["client"], seen[app]["scheme"]) == ("198.51.100.7", "https"), seen


def test_sigterm_with_requests_in_flight_on_the_public_port(tmp_path: Path) -> None:
    public_port = free_port()
    app = ServerProcess(tmp_path, env={"TEST_ENDPOINTS": "true", "PUBLIC_PORT": str(public_port)}).start()
    base = f"http://127.0.0.1:{public_port}"
    answers: list[int] = []

    def slow(path: str) -> None:
        answers.append(httpx.get(f"{base}{path}", timeout=15).status_code)

    threads = [
        threading.Thread(target=slow, args=(p,)) for p in ("/api/_sleep?seconds=1.5", "/_sleep?seconds=1.5")
    ]
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        app.signal(signal.SIGTERM)
        status = app.wait(15)
    finally:
        for thread in threads:
            thread.join(20)
        app.stop()
    assert sorted(answers) == [200, 200]  # both finished though the stop came while they ran
    assert status in (0, -signal.SIGTERM)
    assert not (app.database.parent / "app.db.wal").exists()
