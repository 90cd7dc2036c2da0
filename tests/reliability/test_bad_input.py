"""Bad input gets a clear 4xx on both ports of the real process, never a 5xx or a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.support.client import raw_request, register, status_of
from tests.support.process import ServerProcess
from tests.support.web import CSRF

TITLE = "<script>alert('x')</script> '; DROP TABLE prompts; -- \" & %_ \\"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """One real process for the module, with a registered user's token."""
    server = ServerProcess(tmp_path_factory.mktemp("bad-input")).start()
    yield server, register(server, "inputs")
    server.stop()


def assert_clean(response: bytes | httpx.Response, expected: int | tuple[int, ...] | None = None) -> int:
    """A 4xx (or the expected status) without a traceback."""
    if isinstance(response, httpx.Response):
        status, body = response.status_code, response.content
    else:
        status, body = status_of(response), response
    assert status < 500, body[:500]
    assert b"Traceback" not in body
    assert b'File "' not in body
    if expected is not None:
        assert status in (expected if isinstance(expected, tuple) else (expected,)), body[:500]
    return status


def request_line(
    port: int, target: bytes, method: bytes = b"GET", extra: bytes = b"", body: bytes = b""
) -> bytes:
    head = method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extra
    if body:
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
    return raw_request(port, head + b"\r\n" + body)


def test_malformed_and_mistyped_json_get_422(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for body in [
        b"{bad json",
        b"[]",
        b'{"title": 5, "body": []}',
        b"{}",
        b'{"title": "t"}',
        b"\xff\xfe{}",
        b'{"title": "a\\u0000b", "body": "x"}',
        b'{"title": "t", "body": "x", "tags": "notalist"}',
    ]:
        response = httpx.post(f"{server.backend}/api/prompts", content=body, headers=auth)
        assert_clean(response, 422)
        assert "detail" in response.json()
    for body in [
        b"{bad",
        b'{"username": 5, "password": []}',
        b"{}",
        b'{"username": "\xff\xfe", "password": "x"}',
    ]:
        assert_clean(httpx.post(f"{server.backend}/api/users", content=body), 422)


def test_invalid_utf8_nul_and_huge_values_in_paths_and_queries(live: tuple[ServerProcess, str]) -> None:
    server, _ = live
    for port in (server.backend_port, server.frontend_port):
        for target in [
            b"/\xff\xfe",
            b"/api/users/%FF%FE",
            b"/users/%FF",
            b"/api/prompts?q=%FF%FE",
            b"/search?q=%FF%FE",
            b"/api/prompts?q=%00",
            b"/search?q=a%00b",
            b"/api/users/%00",
            b"/users/a%00b",
            b"/api/prompts/99999999999999999999999",
            b"/prompts/99999999999999999999999",
            b"/api/prompts?limit=abc&offset=-1",
            b"/api/prompts?sort=%3Cscript%3E",
            b"/api/prompts?q=" + b"x" * 10_000,
            b"/search?q=" + b"x" * 10_000,
            b"/tags/" + b"x" * 5000,
            b"/api/prompts?q=\xff\xfe",  # raw bytes, not escaped
            b"/search?q=\xff",
            b"/search?q=a\x00b",
        ]:
            assert_clean(request_line(port, target))


def test_oversized_headers_are_refused(live: tuple[ServerProcess, str]) -> None:
    server, _ = live
    for port in (server.backend_port, server.frontend_port):
        response = request_line(port, b"/", extra=b"X-Big: " + b"a" * 200_000 + b"\r\n")
        assert_clean(response, 431)


@pytest.mark.parametrize("chunked", [False, True])
def test_bodies_over_one_mib_get_413_on_both_ports(live: tuple[ServerProcess, str], chunked: bool) -> None:
    server, token = live
    body = b"x" * (1024 * 1024 + 1)
    targets = [
        (server.backend, "/api/prompts", {"Authorization": f"Bearer {token}"}),
        (server.frontend, "/login", {}),
    ]
    for base, path, headers in targets:
        content = iter([body[:500_000], body[500_000:]]) if chunked else body
        response = httpx.post(
            f"{base}{path}", content=content, headers={**headers, "Content-Type": "text/plain"}
        )
        assert_clean(response, 413)


def test_unknown_methods_get_405(live: tuple[ServerProcess, str]) -> None:
    server, _ = live
    for method in (b"PROPFIND", b"PURGE", b"DELETE", b"PUT"):
        assert_clean(request_line(server.backend_port, b"/api/health", method=method), 405)
        assert_clean(request_line(server.frontend_port, b"/search", method=method), 405)
    # A method token the HTTP parser does not know never reaches an application.
    for port in (server.backend_port, server.frontend_port):
        assert_clean(request_line(port, b"/", method=b"BREW"), 400)


def test_path_traversal_under_static_is_404(live: tuple[ServerProcess, str]) -> None:
    server, _ = live
    for target in [
        b"/static/../app.py",
        b"/static/%2e%2e/%2e%2e/app.py",
        b"/static/..%2f..%2fapp.py",
        b"/static/%2e%2e%2fconfig.py",
        b"/static/..\\..\\app.py",
        b"/static/%00../app.py",
    ]:
        assert_clean(request_line(server.frontend_port, target), 404)
    # Doubled slashes are merged by a redirect that stays under /static, then 404.
    merged = httpx.get(f"{server.frontend}/static//etc/passwd", follow_redirects=True)
    assert str(merged.url).startswith(f"{server.frontend}/static/")
    assert_clean(merged, 404)


def test_metacharacters_are_stored_verbatim_and_escaped_in_html(live: tuple[ServerProcess, str]) -> None:
    server, token = live
    created = httpx.post(
        f"{server.backend}/api/prompts",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "title": TITLE,
            "body": "Body with {{name}} and <b>tags</b> & 'quotes'",
            "tags": ["meta"],
            "visibility": "public",
        },
    )
    assert created.status_code == 201, created.text
    prompt = created.json()
    assert httpx.get(f"{server.backend}/api/prompts/{prompt['id']}").json()["title"] == TITLE
    page = httpx.get(f"{server.frontend}/prompts/{prompt['id']}")
    assert page.status_code == 200
    assert "<script>alert(" not in page.text
    assert "&lt;script&gt;alert(" in page.text
    assert "<b>tags</b>" not in page.text
    found = httpx.get(f"{server.backend}/api/prompts", params={"q": "drop table script"}).json()
    assert [item["title"] for item in found["items"]] == [TITLE]


def test_chunked_form_sent_straight_to_the_frontend_is_read_in_full(live: tuple[ServerProcess, str]) -> None:
    server, _ = live
    with httpx.Client(base_url=server.frontend) as browser:
        form = browser.get("/register")
        csrf = CSRF.search(form.text)
        assert csrf, form.text[:500]
        fields = (
            f"csrf_token={csrf.group(1)}&username=chunky&password=password123&confirm=password123".encode()
        )
        response = browser.post(
            "/register",
            content=iter([fields[:20], fields[20:]]),  # an iterator is sent chunked, without Content-Length
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert_clean(response)
    assert response.status_code in (302, 303)
    assert httpx.get(f"{server.backend}/api/users/chunky").status_code == 200


def test_no_5xx_on_a_sweep_of_odd_requests(live: tuple[ServerProcess, str], tmp_path: Path) -> None:
    server, token = live
    tried = 0
    odd_values = [
        "",
        " ",
        "\x00",
        "%",
        "../../etc/passwd",
        "' OR 1=1 --",
        "<img src=x onerror=alert(1)>",
        "\u202e",
        "😀" * 100,
        "-1",
        "0",
        "1e309",
        "null",
        json.dumps({"a": 1}),
    ]
    for value in odd_values:
        for url in [
            f"{server.backend}/api/prompts",
            f"{server.backend}/api/tags",
            f"{server.frontend}/search",
        ]:
            for name in ("q", "tag", "author", "sort", "limit", "offset"):
                assert_clean(httpx.get(url, params={name: value}))
                tried += 1
        segment = quote(value, safe="")
        assert_clean(httpx.get(f"{server.backend}/api/users/{segment}"))
        assert_clean(httpx.get(f"{server.frontend}/users/{segment}"))
        assert_clean(httpx.get(f"{server.frontend}/tags/{segment}"))
        assert_clean(httpx.post(f"{server.backend}/api/users", json={"username": value, "password": value}))
        assert_clean(
            httpx.post(
                f"{server.backend}/api/prompts",
                headers={"Authorization": f"Bearer {token}"},
                json={"title": value, "body": value, "tags": [value]},
            )
        )
        if value and value.strip() == value and value.isascii() and value.isprintable():
            bad_token = {"Authorization": f"Bearer {value}"}
            assert_clean(httpx.get(f"{server.backend}/api/prompts", headers=bad_token), 401)
            tried += 1
        tried += 5
    print(f"\nodd-request sweep: {tried} requests, no 5xx")
