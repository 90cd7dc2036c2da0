"""The website's forms as tests see them: CSRF tokens, and a person using the real process's site."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from tests.support.process import ServerProcess

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class Browser:
    """A person on the website of the real process: cookies, CSRF tokens and forms."""

    def __init__(self, server: ServerProcess) -> None:
        self.client = httpx.Client(base_url=server.frontend, timeout=30)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        """Submit a form with the CSRF token from the page the form lives on."""
        page = self.client.get("/prompts/new" if path.startswith("/prompts") else "/login")
        token = CSRF.search(page.text)
        assert token, page.text[:300]
        return self.client.post(path, data={"csrf_token": token.group(1), **data})

    def register(self, username: str) -> None:
        """Create an account through the form (which also logs in)."""
        response = self.post(
            "/register", {"username": username, "password": "password123", "confirm": "password123"}
        )
        assert response.status_code == 302, response.text[:500]

    def create_prompt(self, title: str, body: str) -> int:
        """Create a public prompt through the form; return its id."""
        fields = {"title": title, "body": body, "tags": "web", "visibility": "public", "description": ""}
        response = self.post("/prompts/new", {**fields, "model_hint": ""})
        assert response.status_code == 302, response.text[:500]
        return int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])

    def edit_prompt(self, prompt_id: int, title: str, body: str) -> httpx.Response:
        """Submit the edit form."""
        fields = {"title": title, "body": body, "tags": "web", "visibility": "public"}
        return self.post(f"/prompts/{prompt_id}/edit", {**fields, "description": "", "model_hint": ""})

    def star(self, prompt_id: int, on: bool = True) -> httpx.Response:
        """Press the star (or unstar) button."""
        return self.post(f"/prompts/{prompt_id}/{'star' if on else 'unstar'}", {})
