"""Every page renders in the layout, for visitors, for the owner and for other members."""

from __future__ import annotations

import pytest

from tests.library.frontend.conftest import AuthActions, NewBrowser

# path: (visitor, owner, other member); 302 sends a visitor to the login page.
PAGES: dict[str, tuple[int, int, int]] = {
    "/": (200, 200, 200),
    "/search": (200, 200, 200),
    "/search?q=greeting": (200, 200, 200),
    "/tags": (200, 200, 200),
    "/tags/hello": (200, 200, 200),
    "/users/alice": (200, 200, 200),
    "/login": (200, 200, 200),
    "/register": (200, 200, 200),
    "/prompts/new": (302, 200, 200),
    "/prompts/{id}": (200, 200, 200),
    "/prompts/{id}?name=Ada": (200, 200, 200),
    "/prompts/{id}/edit": (302, 200, 403),
    "/prompts/{id}/delete": (302, 200, 403),
    "/prompts/{id}/history": (200, 200, 200),
    "/prompts/{id}/versions/1": (200, 200, 200),
    "/prompts/{id}/diff": (200, 200, 200),
    "/account": (302, 200, 200),
    "/account/export": (302, 200, 200),
    "/healthz": (200, 200, 200),
    "/static/style.css": (200, 200, 200),
    "/static/site.js": (200, 200, 200),
    "/no-such-page": (404, 404, 404),
    "/prompts/424242": (404, 404, 404),
}


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_answers_as_expected(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser, path: str
) -> None:
    prompt_id = alice.create_prompt(title="Greeting", body="Hello {{name}}", tags="hello")
    url = path.format(id=prompt_id)
    for browser, expected in zip((new_browser(), alice, bob), PAGES[path], strict=True):
        response = browser.client.get(url)
        response.close()  # static files are streamed from an open file
        assert response.status_code == expected, (url, browser)
        if expected == 302:
            assert response.location.startswith("/login?next=")
        elif response.mimetype == "text/html":
            assert response.text.lstrip().startswith("<!doctype html>")
            assert '<header class="site-header">' in response.text
            assert "Traceback" not in response.text
