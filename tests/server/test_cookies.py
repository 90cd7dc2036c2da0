"""Cookies: the server reads them as the application behind its WSGI adapter does."""

from __future__ import annotations

import httpx
import pytest
from flask import Flask, request

from composite.server.cookies import cookie_header, request_cookies
from composite.server.wsgi import WSGIAdapter

pytestmark = pytest.mark.anyio

# Header lines a client may send, each spelled the way some client or attacker might, and
# the session cookie Werkzeug finds in them (None: no session cookie at all).
SESSIONS = [
    ([("cookie", "session=abc")], "abc"),
    ([("cookie", "session =abc")], "abc"),
    ([("cookie", "session= abc ; theme=dark")], "abc"),
    ([("cookie", 'session="a\\"b c"')], 'a"b c'),
    ([("cookie", "theme=dark;session=abc")], "abc"),
    ([("cookie", 'x"y=1; session=abc')], "abc"),  # a malformed cookie before it is skipped
    ([("cookie", "session=first; session=second")], "first"),
    ([("cookie", "theme=dark"), ("cookie", "session=abc")], "abc"),  # two lines, as HTTP/2 sends them
    ([("cookie", "sessionless=1; xsession=2; session_id=3")], None),
    ([("cookie", '"session"=1')], None),
    # UTF-8 bytes, which a WSGI environ holds as latin-1 text, and so does Flask's cookie.
    ([("cookie", "caf\u00e9=1; session=\u00e9t\u00e9")], "\u00e9t\u00e9".encode().decode("latin-1")),
    ([], None),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def as_asgi(lines: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header lines as an ASGI scope holds them: bytes, as the client sent them."""
    return [(name.encode(), value.encode()) for name, value in lines]


@pytest.mark.parametrize(("lines", "session"), SESSIONS, ids=[repr(lines) for lines, _ in SESSIONS])
async def test_the_server_reads_what_flask_behind_the_adapter_reads(
    lines: list[tuple[str, str]], session: str | None
) -> None:
    app = Flask(__name__)

    @app.get("/")
    def cookies() -> dict[str, list[str]]:
        return dict(request.cookies.lists())

    adapter = WSGIAdapter(app, 1)
    try:
        transport = httpx.ASGITransport(app=adapter)
        async with httpx.AsyncClient(transport=transport, base_url="http://site") as client:
            seen = (await client.get("/", headers=[(n, v.encode()) for n, v in lines])).json()
    finally:
        adapter.executor.shutdown()
    assert seen == dict(request_cookies(as_asgi(lines)).lists())
    assert request_cookies(as_asgi(lines)).get("session") == session


def test_cookie_lines_are_joined_as_one_header_of_separate_cookies() -> None:
    assert cookie_header(as_asgi([("cookie", "a=1"), ("host", "x"), ("cookie", "b=2")])) == "a=1; b=2"
    assert cookie_header(as_asgi([("host", "x")])) is None
    assert request_cookies(as_asgi([("cookie", "a=1,b=2")])).getlist("a") == ["1,b=2"]
