"""BodyLimit and SecurityHeaders as ASGI middleware."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from composite.library.policies import SITE_POLICY, api_policy, site_policy
from composite.server.asgi import END_CONNECTION
from composite.server.headers import SecurityHeaders
from composite.server.limits import MIB, REPLAY_CHUNK, BodyLimit


async def echo_body(scope: dict[str, Any], receive, send) -> None:
    """Reply with the body and the content-length header the app received."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    length = dict(scope["headers"]).get(b"content-length", b"-").decode()
    payload = json.dumps({"length": length, "body": body.decode()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": payload})


def exchange(
    app, headers: list[tuple[bytes, bytes]], chunks: list[bytes], path: str = "/", **scope_extra: Any
) -> list[dict[str, Any]]:
    """Every message the app sends for a POST whose body comes in these chunks."""
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "scheme": "http"}
    pending = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({**scope, **scope_extra}, receive, send))
    return sent


def run(
    app, headers: list[tuple[bytes, bytes]], chunks: list[bytes], path: str = "/"
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent = exchange(app, headers, chunks, path)
    return sent[0]["status"], dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


def test_declared_length_over_the_limit_is_refused_before_reading() -> None:
    status, headers, body = run(
        BodyLimit(echo_body, 10, json_errors=True), [(b"content-length", b"11")], [b"x" * 11]
    )
    assert status == 413
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body)["detail"].startswith("Request body is larger than the limit of 10 bytes")


def test_sized_body_within_the_limit_passes_through() -> None:
    status, _, body = run(BodyLimit(echo_body, 10), [(b"content-length", b"5")], [b"hello"])
    assert (status, json.loads(body)) == (200, {"length": "5", "body": "hello"})


def test_buffered_a_chunked_body_is_read_in_full_and_given_a_length() -> None:
    headers = [(b"transfer-encoding", b"chunked")]
    status, _, body = run(BodyLimit(echo_body, 100, buffered=True), headers, [b"name=", b"ada", b"&x=1"])
    assert (status, json.loads(body)) == (200, {"length": "12", "body": "name=ada&x=1"})


def test_chunked_body_over_the_limit_is_refused() -> None:
    for buffered in (False, True):
        status, headers, body = run(
            BodyLimit(echo_body, 8, buffered=buffered),
            [(b"transfer-encoding", b"chunked")],
            [b"12345", b"67890"],
        )
        assert status == 413
        assert headers[b"content-type"].startswith(b"text/plain")
        assert b"limit of 8 bytes" in body


def test_a_body_reaches_the_application_as_it_arrives() -> None:
    status, _, body = run(
        BodyLimit(count_chunks, 100), [(b"transfer-encoding", b"chunked")], [b"ab", b"cd", b"e"]
    )
    assert (status, json.loads(body)) == (200, {"length": "-", "chunks": 3, "largest": 2})
    given: list[Any] = []

    async def keep_receive(scope: dict[str, Any], receive, send) -> None:
        given.append(receive)
        await echo_body(scope, receive, send)

    server_receive = None

    async def app(scope: dict[str, Any], receive, send) -> None:
        nonlocal server_receive
        server_receive = receive
        await BodyLimit(keep_receive, 10)(scope, receive, send)

    status, _, _ = run(app, [(b"content-length", b"5")], [b"hello"])
    assert status == 200
    assert given == [server_receive]  # a declared length within the limit: nothing in between


async def read_then_answer(scope: dict[str, Any], receive, send) -> None:
    """Read the whole body, failing as Starlette does when the client goes, then answer."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RuntimeError("the client went away")  # Starlette's ClientDisconnect
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"read"})


def test_a_streamed_body_past_the_limit_gets_413_and_the_application_is_told_the_client_went() -> None:
    chunked = [(b"transfer-encoding", b"chunked")]
    sent = exchange(BodyLimit(read_then_answer, 8), chunked, [b"12345", b"67890", b"more"])
    assert [m.get("status") for m in sent] == [413, None]  # the application's failure is not the client's
    assert dict(sent[0]["headers"])[b"connection"] == b"close"

    async def fails(scope: dict[str, Any], receive, send) -> None:
        raise ValueError("a fault of its own")

    with pytest.raises(ValueError, match="a fault of its own"):  # not hidden when nothing was cut
        exchange(BodyLimit(fails, 8), chunked, [b"1"])


async def progress(scope: dict[str, Any], receive, send) -> None:
    """Answer at once, then one line per chunk of the body as it arrives."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            await send({"type": "http.response.body", "body": b"gone", "more_body": False})
            return
        await send({"type": "http.response.body", "body": message["body"], "more_body": True})
        if not message.get("more_body"):
            break
    await send({"type": "http.response.body", "body": b"done"})


def test_an_answer_begun_before_a_chunked_body_ended_closes_and_is_cut_off_past_the_limit() -> None:
    chunked = [(b"transfer-encoding", b"chunked")]
    sent = exchange(BodyLimit(progress, 8), chunked, [b"1234", b"5678"])
    assert dict(sent[0]["headers"])[b"connection"] == b"close"  # the rest would be drained unbounded
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"12345678done"
    ended: list[bool] = []
    extensions = {END_CONNECTION: {"end": lambda: ended.append(True)}}
    sent = exchange(BodyLimit(progress, 8), chunked, [b"1234", b"5678", b"9"], extensions=extensions)
    # No 413 in the middle of an answer, nothing after the cut, and the connection ended.
    assert [m.get("status") for m in sent] == [200, None, None]
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"12345678"
    assert ended == [True]
    # Answered after the whole body, the connection stays as it was.
    sent = exchange(BodyLimit(echo_body, 8), chunked, [b"1234", b"5678"])
    assert b"connection" not in dict(sent[0]["headers"])


def test_security_headers_are_added_without_overriding_the_app() -> None:
    status, headers, _ = run(SecurityHeaders(echo_body, site_policy), [], [b""])
    assert status == 200
    assert headers[b"content-security-policy"] == SITE_POLICY.encode()
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"referrer-policy"] == b"strict-origin-when-cross-origin"
    assert b"frame-ancestors 'none'" in headers[b"content-security-policy"]
    assert headers[b"x-app"] == b"1"
    assert "'unsafe-inline'" not in api_policy("/api/docs")
    assert api_policy("/api/prompts") == "default-src 'none'; frame-ancestors 'none'"


def test_bodies_buffered_at_once_are_bounded_per_port() -> None:
    limit = BodyLimit(echo_body, 10, buffered=True)
    limit.buffered = limit.max_buffered - 5  # other requests on this port hold nearly all of it
    status, headers, _ = run(limit, [(b"content-length", b"10")], [b"x" * 10])
    assert status == 503
    assert headers[b"retry-after"] == b"1"
    assert limit.buffered == limit.max_buffered - 5  # what this request held is given back
    status, _, _ = run(BodyLimit(echo_body, 10, buffered=True), [(b"content-length", b"10")], [b"x" * 10])
    assert status == 200


async def count_chunks(scope: dict[str, Any], receive, send) -> None:
    """Reply with how many chunks the body came in, its length, and the largest chunk."""
    sizes = []
    while True:
        message = await receive()
        sizes.append(len(message.get("body", b"")))
        if not message.get("more_body"):
            break
    length = dict(scope["headers"]).get(b"content-length", b"-").decode()
    payload = json.dumps({"length": length, "chunks": len(sizes), "largest": max(sizes)}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": payload})


def test_a_named_path_takes_a_larger_body_spooled_and_replayed_in_chunks() -> None:
    limit = BodyLimit(count_chunks, 10, large_paths={"/upload": 1000})
    chunks = [b"x" * 100] * 9  # 900 bytes, chunked, past the ordinary limit
    status, _, body = run(limit, [(b"transfer-encoding", b"chunked")], chunks, path="/upload")
    assert status == 200
    assert json.loads(body)["length"] == "900"
    assert limit.large == 0  # given back
    # Other paths keep the ordinary limit.
    status, _, _ = run(limit, [(b"content-length", b"900")], [b"x" * 900], path="/other")
    assert status == 413


def test_a_spooled_body_reaches_the_application_in_bounded_chunks() -> None:
    size = 5 * REPLAY_CHUNK + 7
    limit = BodyLimit(count_chunks, 1024, large_paths={"/upload": size})
    status, _, body = run(limit, [(b"content-length", str(size).encode())], [b"y" * size], path="/upload")
    answer = json.loads(body)
    assert status == 200
    assert (answer["length"], answer["chunks"], answer["largest"]) == (str(size), 6, REPLAY_CHUNK)


def test_a_named_path_refuses_past_its_own_limit_declared_or_chunked() -> None:
    limit = BodyLimit(echo_body, 10, json_errors=True, large_paths={"/upload": 2 * MIB})
    status, _, body = run(limit, [(b"content-length", str(2 * MIB + 1).encode())], [b""], path="/upload")
    assert status == 413
    assert json.loads(body)["detail"] == "Request body is larger than the limit of 2 MiB."
    chunks = [b"z" * MIB] * 3
    status, _, _ = run(limit, [(b"transfer-encoding", b"chunked")], chunks, path="/upload")
    assert status == 413
    assert limit.large == 0


def test_large_bodies_under_way_at_once_are_bounded_per_port() -> None:
    limit = BodyLimit(echo_body, 10, large_paths={"/upload": 100}, large_at_once=2)
    limit.large = 2  # two uploads under way
    status, headers, body = run(limit, [(b"content-length", b"50")], [b"x" * 50], path="/upload")
    assert status == 503
    assert headers[b"retry-after"] == b"1"
    assert b"Too many large uploads" in body
    assert limit.large == 2
    # A body within the ordinary limit on the same path is handled as usual, not counted.
    status, _, _ = run(limit, [(b"content-length", b"10")], [b"x" * 10], path="/upload")
    assert status == 200


def test_refusals_can_be_rendered_by_the_site() -> None:
    def page(scope: dict[str, Any], status: int, message: str) -> tuple[bytes, bytes]:
        return b"text/html; charset=utf-8", f"<h1>{status}</h1><p>{message} ({scope['path']})</p>".encode()

    limit = BodyLimit(echo_body, 10, refusal=page)
    status, headers, body = run(limit, [(b"content-length", b"11")], [b"x" * 11], path="/form")
    assert (status, headers[b"content-type"]) == (413, b"text/html; charset=utf-8")
    assert body == b"<h1>413</h1><p>Request body is larger than the limit of 10 bytes. (/form)</p>"


def test_a_refusal_may_be_rendered_by_a_coroutine() -> None:
    # A page that depends on who asks may read a database, which the site does on a thread.
    async def page(scope: dict[str, Any], status: int, message: str) -> tuple[bytes, bytes]:
        await asyncio.sleep(0)
        return b"text/html; charset=utf-8", f"<p>{status} for {scope['path']}</p>".encode()

    limit = BodyLimit(echo_body, 10, refusal=page)
    status, headers, body = run(limit, [(b"content-length", b"11")], [b"x" * 11], path="/form")
    assert (status, body) == (413, b"<p>413 for /form</p>")
    assert headers[b"content-length"] == str(len(body)).encode()
    chunked = [(b"transfer-encoding", b"chunked")]
    assert run(limit, chunked, [b"x" * 6] * 2, path="/form")[2] == b"<p>413 for /form</p>"


def has_key(scope: dict[str, Any]) -> bool:
    """An application's check of a credential: here, a header with the right value."""
    return (b"authorization", b"Bearer right") in scope["headers"]


def test_a_request_the_application_does_not_admit_gets_the_ordinary_limit_and_no_slot() -> None:
    limit = BodyLimit(
        echo_body, 10, json_errors=True, large_paths={"/upload": 1000}, admit_large=has_key, large_at_once=2
    )
    limit.large = 2  # both slots taken: a request that asked for one would be told 503
    declared = [(b"content-length", b"100")]
    status, _, body = run(limit, declared, [b"x" * 100], path="/upload")
    assert status == 413
    detail = json.loads(body)["detail"]
    assert detail == "Request body is larger than the limit of 10 bytes (1000 bytes with valid credentials)."
    wrong = [(b"transfer-encoding", b"chunked"), (b"authorization", b"Bearer wrong")]
    status, _, body = run(limit, wrong, [b"x" * 6] * 3, path="/upload")
    assert status == 413  # read up to the ordinary limit, like any other body
    assert "10 bytes" in json.loads(body)["detail"]
    assert limit.large == 2  # neither took a slot
    # Within the ordinary limit, it is any other request: the application answers it.
    assert run(limit, [(b"content-length", b"5")], [b"hello"], path="/upload")[0] == 200
    # The one with the credential asks for a slot, and gets one when there is one free.
    admitted = [*declared, (b"authorization", b"Bearer right")]
    assert run(limit, admitted, [b"x" * 100], path="/upload")[0] == 503
    limit.large = 0
    status, _, body = run(limit, admitted, [b"x" * 100], path="/upload")
    assert (status, json.loads(body)["length"]) == (200, "100")
    assert limit.large == 0


def test_a_check_that_fails_admits_no_one() -> None:
    def broken(scope: dict[str, Any]) -> bool:
        raise RuntimeError("database is closed")

    limit = BodyLimit(echo_body, 10, large_paths={"/upload": 1000}, admit_large=broken)
    assert run(limit, [(b"content-length", b"100")], [b"x" * 100], path="/upload")[0] == 413


def test_a_large_body_must_arrive_within_its_deadline_and_gives_its_slot_back() -> None:
    limit = BodyLimit(echo_body, 10, large_paths={"/upload": 1000}, large_seconds=0.2)
    scope = {"type": "http", "method": "POST", "path": "/upload", "scheme": "http"}
    scope["headers"] = [(b"content-length", b"1000")]
    sent: list[dict[str, Any]] = []
    given = False

    async def trickle() -> dict[str, Any]:
        nonlocal given
        if not given:  # one chunk, then nothing more for as long as anyone waits
            given = True
            return {"type": "http.request", "body": b"x" * 20, "more_body": True}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(limit(scope, trickle, send), timeout=30))
    assert sent[0]["status"] == 408
    assert dict(sent[0]["headers"])[b"connection"] == b"close"
    assert b"did not arrive within 0.2 seconds" in sent[1]["body"]
    assert limit.large == 0
