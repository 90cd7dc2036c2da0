"""Only a signed-in caller may send an import past the ordinary body limit: strangers hold no slot.

The applications are served as the process serves them (``site.api_app``, ``site.website_app``:
body limits, caches and headers around them), in process, over a real database.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from composite.config import Settings
from composite.db import Database
from composite.library import accounts, credentials
from composite.library.frontend.security import signed_in_check
from composite.library.site import api_app, website_app
from composite.server.limits import MIB
from tests.library.frontend.conftest import AuthActions
from tests.support import corpus

Answer = tuple[int, dict[bytes, bytes], bytes]


def scope_for(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """An HTTP POST's scope, as the server hands it to the application."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def post(app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Answer:
    """Send a whole body in 64 KiB chunks and return the answer."""
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] or [b""]
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # the client waits for its answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope_for(path, headers), receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def trickle(app: Any, path: str, headers: list[tuple[bytes, bytes]], gone: asyncio.Event) -> Answer:
    """A slow client: a first chunk, then nothing until ``gone`` is set, when it disconnects."""
    first = True
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"[" + b" " * 4095, "more_body": True}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope_for(path, headers), receive, send)
    if not sent:
        return 0, {}, b""  # still sending when it went: never answered
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def token(db: Database) -> str:
    """A valid API token of a real user."""
    user = accounts.create_user(db, "importer", "password123")
    secret, _ = credentials.create_token(db, user.id)
    return secret


def export_past_the_limit() -> bytes:
    """A valid export of three prompts, past the ordinary 1 MiB by trailing whitespace JSON allows."""
    data = corpus.export_bytes(corpus.prompts(3, seed=4))
    return data + b" " * (MIB + 1 - len(data))


JSON = (b"content-type", b"application/json")


def test_an_anonymous_import_past_the_ordinary_limit_is_refused_and_a_token_holders_accepted(
    settings: Settings, db: Database, token: str
) -> None:
    app = api_app(settings, db)
    body = export_past_the_limit()
    declared = [JSON, (b"content-length", str(len(body)).encode())]
    status, _, answer = asyncio.run(post(app, "/api/import", declared, body))
    assert status == 413
    assert json.loads(answer) == {
        "detail": "Request body is larger than the limit of 1 MiB (64 MiB with valid credentials)."
    }
    chunked = [JSON, (b"transfer-encoding", b"chunked"), (b"authorization", b"Bearer cpl_wrong")]
    assert asyncio.run(post(app, "/api/import", chunked, body))[0] == 413
    auth = (b"authorization", f"Bearer {token}".encode())
    status, _, answer = asyncio.run(post(app, "/api/import", [*declared, auth], body))
    assert status == 200, answer[:500]
    assert json.loads(answer)["created"] == 3


def test_slow_strangers_cannot_keep_a_token_holder_from_importing(
    settings: Settings, db: Database, token: str
) -> None:
    app = api_app(settings, db)
    body = export_past_the_limit()

    async def scene() -> tuple[Answer, list[Answer]]:
        gone = asyncio.Event()
        # Two strangers announce the largest upload allowed and send it at a trickle.
        huge = [(b"content-length", str(64 * MIB).encode())]
        strangers = [
            asyncio.create_task(trickle(app, "/api/import", shape, gone))
            for shape in (huge, [(b"transfer-encoding", b"chunked")])
        ]
        await asyncio.sleep(0.2)  # both under way (the declared one already answered)
        auth = [JSON, (b"authorization", f"Bearer {token}".encode())]
        mine = await post(app, "/api/import", [*auth, (b"content-length", str(len(body)).encode())], body)
        gone.set()
        return mine, [await task for task in strangers]

    mine, strangers = asyncio.run(scene())
    assert mine[0] == 200, mine[2][:500]
    assert json.loads(mine[2])["created"] == 3
    assert strangers[0][0] == 413  # refused at once, before a byte was read


@pytest.fixture
def browser(frontend_client: FlaskClient) -> AuthActions:
    """A browser signed in on the website."""
    person = AuthActions(frontend_client)
    assert person.register("uploader").status_code == 302
    return person


def test_the_website_admits_a_large_upload_only_from_a_live_session(
    frontend_client: FlaskClient, browser: AuthActions
) -> None:
    check = signed_in_check(frontend_client.application)

    def admitted(cookie: str | None) -> bool:
        headers = [(b"cookie", f"theme=dark; session={cookie}".encode())] if cookie is not None else []
        return check(scope_for("/account/import", headers))

    cookie = browser.session_cookie
    assert cookie
    assert admitted(cookie)
    assert not admitted(None)
    assert not admitted(cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))  # forged
    assert not admitted("not a session")
    browser.logout()  # the server ends the session: the old cookie is worth nothing
    assert not admitted(cookie)


def test_an_anonymous_website_import_past_the_ordinary_limit_gets_the_sites_413(
    settings: Settings, db: Database
) -> None:
    app = website_app(settings, db)
    body = b"x" * (MIB + 1)
    headers = [
        (b"content-type", b"multipart/form-data; boundary=x"),
        (b"content-length", str(len(body)).encode()),
    ]
    status, answer_headers, page = asyncio.run(post(app, "/account/import", headers, body))
    assert status == 413
    assert answer_headers[b"content-type"].startswith(b"text/html")
    assert b"Request body is larger than the limit of 1 MiB (64 MiB with valid credentials)." in page
