"""ResponseCache: what is kept, for whom, for how long, and the 304s it answers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from composite.server.cookies import request_cookies
from composite.server.responsecache import ResponseCache

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Backend:
    """An ASGI app whose answers say how many times it ran and at which data version."""

    def __init__(self) -> None:
        self.version = 0
        self.calls = 0
        self.gate: asyncio.Event | None = None  # when set, answers wait for it

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        seen = self.version
        if self.gate is not None:
            await self.gate.wait()
        path = scope["path"]
        headers = [(b"content-type", b"text/plain")]
        if path != "/unmarked":
            headers.append((b"cache-control", b"private" if path == "/private" else b"public, no-cache"))
        if path == "/tagged":
            headers.append((b"etag", b'W/"v%d"' % seen))
        if path == "/cookie":
            headers.append((b"set-cookie", b"csrf=1"))
        status = 404 if path == "/missing" else 200
        body = b"x" * 2000 if path == "/big" else f"{path} v{seen} call {self.calls}".encode()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if path == "/big":  # in two pieces, as streamed answers come
            await send({"type": "http.response.body", "body": body[:1000], "more_body": True})
            await send({"type": "http.response.body", "body": body[1000:]})
        else:
            await send({"type": "http.response.body", "body": body})


def cached(backend: Backend, **options: Any) -> tuple[ResponseCache, httpx.AsyncClient]:
    cache = ResponseCache(backend, lambda: backend.version, credential_cookies=["session"], **options)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=cache), base_url="http://site")
    return cache, client


async def test_an_anonymous_public_answer_is_kept_until_the_next_write() -> None:
    backend = Backend()
    cache, client = cached(backend)
    async with client:
        first = await client.get("/page")
        again = await client.get("/page")
        backend.version += 1  # a write commits
        after = await client.get("/page")
    assert first.text == again.text == "/page v0 call 1"
    assert after.text == "/page v1 call 2"
    assert first.headers["etag"] == again.headers["etag"] != after.headers["etag"]
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


@pytest.mark.parametrize(
    "request_headers",
    [{"Authorization": "Bearer t"}, {"Cookie": "session=abc"}, {"Cookie": "theme=dark; session=abc"}],
)
async def test_an_answer_to_credentials_is_kept_for_those_credentials_only(
    request_headers: dict[str, str],
) -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        anonymous = (await client.get("/page")).text
        mine = [(await client.get("/page", headers=request_headers)).text for _ in range(2)]
        other = (await client.get("/page", headers={"Authorization": "Bearer someone-else"})).text
        again = (await client.get("/page")).text
    assert anonymous == again == "/page v0 call 1"
    assert mine == ["/page v0 call 2", "/page v0 call 2"]
    assert other == "/page v0 call 3"


async def test_a_private_answer_is_kept_for_its_viewer_only_and_only_briefly() -> None:
    backend = Backend()
    _, client = cached(backend, private_seconds=0.2)
    token = {"Authorization": "Bearer t"}
    async with client:
        first = (await client.get("/private", headers=token)).text
        kept = (await client.get("/private", headers=token)).text
        anonymous = [(await client.get("/private")).text for _ in range(2)]
        await asyncio.sleep(0.3)  # past private_seconds: what expires without a write ends too
        later = (await client.get("/private", headers=token)).text
    assert first == kept == "/private v0 call 1"
    assert anonymous == ["/private v0 call 2", "/private v0 call 3"]  # never kept without credentials
    assert later == "/private v0 call 4"


async def test_an_unmarked_answer_is_never_kept_even_for_credentials() -> None:
    backend = Backend()
    cache, client = cached(backend)
    async with client:
        for _ in range(2):
            await client.get("/unmarked", headers={"Authorization": "Bearer t"})
    assert cache.stats.stored == 0


@pytest.mark.parametrize(
    "cookie", ["sessionless=1; theme=dark", "xsession=1", "session_id=1", '"session"=1', "theme=session"]
)
async def test_a_cookie_that_is_no_credential_still_gets_the_kept_answer(cookie: str) -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        await client.get("/page")
        answer = await client.get("/page", headers={"Cookie": cookie})
    assert answer.text == "/page v0 call 1"


# Cookie headers in which Werkzeug, and so Flask and the website, finds the session cookie.
SESSION_SPELLINGS = [
    [("Cookie", "session =abc")],
    [("Cookie", "session = abc")],
    [("Cookie", 'session="abc"')],
    [("Cookie", 'x"y=1;session=abc')],
    [("Cookie", "theme=dark"), ("Cookie", "session=abc")],
]


@pytest.mark.parametrize("cookies", SESSION_SPELLINGS, ids=[repr(c) for c in SESSION_SPELLINGS])
async def test_a_session_cookie_the_application_would_read_is_a_credential_however_spelled(
    cookies: list[tuple[str, str]],
) -> None:
    assert request_cookies([(n.lower().encode(), v.encode()) for n, v in cookies]).get("session")
    backend = Backend()
    _, client = cached(backend)
    async with client:
        shared = (await client.get("/page")).text  # kept for anonymous viewers
        mine = [(await client.get("/page", headers=cookies)).text for _ in range(2)]
        again = (await client.get("/page")).text
    assert shared == again == "/page v0 call 1"
    assert mine == ["/page v0 call 2", "/page v0 call 2"]  # its own answer, never the shared one
    # Made first, the credentialed answer is not kept for anyone without the cookie.
    backend = Backend()
    _, client = cached(backend)
    async with client:
        mine = [(await client.get("/page", headers=cookies)).text for _ in range(2)]
        anonymous = (await client.get("/page")).text
    assert mine == ["/page v0 call 1", "/page v0 call 1"]
    assert anonymous == "/page v0 call 2"


async def test_two_sessions_differing_in_any_session_value_never_share_an_answer() -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        one = (await client.get("/page", headers={"Cookie": "session=a; session=b"})).text
        two = (await client.get("/page", headers={"Cookie": "session=a; session=c"})).text
        three = (await client.get("/page", headers={"Cookie": "session =a; session=b"})).text
    assert one == three == "/page v0 call 1"  # the very same cookies, however spaced
    assert two == "/page v0 call 2"


@pytest.mark.parametrize("path", ["/private", "/unmarked", "/cookie", "/missing"])
async def test_answers_not_marked_public_or_setting_cookies_or_not_200_are_not_kept(path: str) -> None:
    backend = Backend()
    cache, client = cached(backend)
    async with client:
        first = await client.get(path)
        second = await client.get(path)
    assert first.text != second.text
    assert cache.stats.stored == 0


async def test_if_none_match_gets_304_with_no_body_from_the_cache_and_on_a_miss() -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        etag = (await client.get("/page")).headers["etag"]
        for given in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            answer = await client.get("/page", headers={"If-None-Match": given})
            assert (answer.status_code, answer.content, answer.headers["etag"]) == (304, b"", etag)
            assert answer.headers["cache-control"] == "public, no-cache"
        assert (await client.get("/page", headers={"If-None-Match": '"other"'})).status_code == 200
        backend.version += 1
        changed = await client.get("/page", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.text == "/page v1 call 2"


async def test_an_answer_made_while_a_write_committed_is_not_kept() -> None:
    backend = Backend()
    cache, client = cached(backend)
    backend.gate = asyncio.Event()
    async with client:
        slow = asyncio.create_task(client.get("/page"))
        await asyncio.sleep(0.05)
        backend.version += 1  # commits while the answer is being made from older data
        backend.gate.set()
        answer = await slow
        backend.gate = None
        fresh = await client.get("/page")
    assert answer.text == "/page v0 call 1"
    assert cache.stats.stored == 1  # only the second
    assert fresh.text == "/page v1 call 2"


async def test_memory_is_bounded_least_recently_used_out() -> None:
    backend = Backend()
    cache, client = cached(backend, max_bytes=30, max_entry_bytes=30)  # two 12-byte answers
    async with client:
        for path in ("/a", "/b", "/a", "/c"):  # /a was used after /b: /b goes
            await client.get(path)
        assert cache.stats.bytes <= 30
        assert cache.stats.entries == 2
        hits = cache.stats.hits
        await client.get("/a")
        assert cache.stats.hits == hits + 1
        await client.get("/b")
        assert cache.stats.hits == hits + 1
        big = await client.get("/big")  # larger than an entry may be: sent whole, not kept
    assert big.content == b"x" * 2000
    assert "etag" not in big.headers
    assert cache.stats.bytes <= 30


async def test_head_is_answered_from_a_kept_get_without_a_body() -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        got = await client.get("/page")
        head = await client.head("/page")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert backend.calls == 1


async def test_the_query_string_and_host_are_part_of_the_key() -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        one = await client.get("/page?q=1")
        two = await client.get("/page?q=2")
        other_host = await client.get("/page?q=1", headers={"Host": "elsewhere"})
    assert len({one.text, two.text, other_host.text}) == 3


async def test_the_applications_own_etag_is_kept_and_matched() -> None:
    backend = Backend()
    _, client = cached(backend)
    async with client:
        first = await client.get("/tagged")
        again = await client.get("/tagged", headers={"If-None-Match": '"v0"'})
    assert first.headers["etag"] == 'W/"v0"'
    assert (again.status_code, again.headers["etag"]) == (304, 'W/"v0"')
