"""The website's refusals in the real process keep the visitor's header: who is logged in, or Log in.

The server's body limit answers some requests before the website sees them (a body past
the limit, too many at once); its page must still show a signed-in person as signed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.client import raw_request, status_of
from tests.support.process import ServerProcess
from tests.support.web import Browser, csrf_from

# Past the import's own limit (64 MiB): refused as soon as the headers arrive.
IMPORT_TOO_LARGE = 70_000_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real process for the module: these tests only read."""
    server = ServerProcess(tmp_path_factory.mktemp("refusals")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def person(site: ServerProcess) -> Iterator[Browser]:
    """Someone signed in on the website, with a session cookie of their own."""
    with Browser(site) as browser:
        browser.register(f"uploader-{uuid.uuid4().hex[:8]}")
        yield browser


def declared_post(site: ServerProcess, path: str, length: int, cookie: str | None) -> tuple[int, str]:
    """A POST that declares a body past the limit and sends none: the status and page it gets."""
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{site.frontend_port}",
        "Content-Type: multipart/form-data; boundary=x",
        f"Content-Length: {length}",
    ]
    if cookie is not None:
        head.append(f"Cookie: theme=dark; session={cookie}")
    answer = raw_request(site.frontend_port, ("\r\n".join(head) + "\r\n\r\n").encode())
    return status_of(answer), answer.partition(b"\r\n\r\n")[2].decode()


def username_of(browser: Browser) -> str:
    """The name the header shows for this browser's session."""
    page = browser.client.get("/").text
    start = page.index('class="nav-user">') + len('class="nav-user">')
    return page[start : page.index("<", start)]


def test_a_signed_in_import_past_the_limit_gets_a_413_page_showing_who_is_logged_in(
    site: ServerProcess, person: Browser
) -> None:
    name = username_of(person)
    cookie = person.client.cookies["session"]
    status, page = declared_post(site, "/account/import", IMPORT_TOO_LARGE, cookie)
    assert status == 413
    assert "Request body is larger than the limit of 64 MiB." in page
    assert f'class="nav-user">{name}</a>' in page
    assert "Log out" in page
    assert "Log in" not in page

    # The page's Log out form works: it carries this session's CSRF token.
    ended = person.client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert ended.status_code == 302, ended.text[:300]
    assert "Log in" in person.client.get("/").text
    # The ended session is anyone's now: the same refusal says Log in.
    status, page = declared_post(site, "/account/import", IMPORT_TOO_LARGE, cookie)
    assert status == 413
    assert "Log in" in page
    assert "nav-user" not in page


def test_an_anonymous_import_past_the_limit_gets_a_413_page_with_log_in(site: ServerProcess) -> None:
    status, page = declared_post(site, "/account/import", IMPORT_TOO_LARGE, None)
    assert status == 413
    assert "(64 MiB with valid credentials)" in page
    assert "Log in" in page
    assert "Log out" not in page
    # A forged cookie is no session.
    status, page = declared_post(site, "/account/import", IMPORT_TOO_LARGE, "forged.value.here")
    assert status == 413
    assert "Log in" in page


def test_a_chunked_form_past_the_ordinary_limit_keeps_the_signed_in_header(
    site: ServerProcess, person: Browser
) -> None:
    name = username_of(person)

    def body() -> Iterator[bytes]:
        # No length: counted as it arrives, refused once past 1 MiB.
        for _ in range(24):
            yield b"x" * 65536

    try:
        answer = person.client.post(
            "/prompts/new", content=body(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
    except httpx.WriteError:
        pytest.skip("the connection closed before the answer was read")  # the kernel's reset won
    assert answer.status_code == 413
    assert "larger than the limit of 1 MiB" in answer.text
    assert f'class="nav-user">{name}</a>' in answer.text


def test_an_error_before_the_session_was_read_still_shows_who_is_logged_in(
    site: ServerProcess, person: Browser
) -> None:
    name = username_of(person)
    # Malformed input is refused before the site looks at the session.
    answer = person.client.get("/search?q=%FF")
    assert answer.status_code == 400
    assert "not valid UTF-8" in answer.text
    assert f'class="nav-user">{name}</a>' in answer.text
