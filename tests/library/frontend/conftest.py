"""Website test helpers: log people in through the real forms, CSRF token and all."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.web import csrf_from

PASSWORD = "password123"


def field_error(html: str, field: str) -> str | None:
    """The error shown next to a form field, or None."""
    match = re.search(rf'id="f-{re.escape(field)}-error">(.*?)</', html, re.S)
    return match.group(1).strip() if match else None


def field_value(html: str, field: str) -> str | None:
    """The value a form field shows (input value or textarea text), HTML-escaped as sent."""
    match = re.search(rf'<input id="f-{re.escape(field)}"[^>]*? value="([^"]*)"', html)
    if match:
        return match.group(1)
    match = re.search(rf'<textarea id="f-{re.escape(field)}"[^>]*>(.*?)</textarea>', html, re.S)
    return match.group(1) if match else None


class AuthActions:
    """Drive the website like a person: fetch a form for its CSRF token, then submit it."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, page: str = "/login") -> str:
        """This browser's CSRF token, read from a page's form."""
        return csrf_from(self.client.get(page).text)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> TestResponse:
        """Submit a form with this browser's CSRF token."""
        return self.client.post(path, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def register(self, username: str = "alice", password: str = PASSWORD) -> TestResponse:
        """Create an account through the form (which also logs in)."""
        return self.post("/register", {"username": username, "password": password, "confirm": password})

    def login(self, username: str = "alice", password: str = PASSWORD) -> TestResponse:
        """Log in through the form."""
        return self.post("/login", {"username": username, "password": password})

    def logout(self) -> TestResponse:
        """Log out through the navigation's POST form."""
        return self.post("/logout")

    def create_prompt(self, title: str = "Greeting", body: str = "Hello {{name}}", **fields: str) -> int:
        """Create a prompt through the form and return its id."""
        data = {"title": title, "body": body, "tags": "", "visibility": "public", **fields}
        response = self.post("/prompts/new", data)
        assert response.status_code == 302, response.text
        return int(response.location.rsplit("/", 1)[1])

    def edit_prompt(self, prompt_id: int, **fields: str) -> TestResponse:
        """Submit the edit form with the current values changed by ``fields``."""
        current = self.client.get(f"/prompts/{prompt_id}/edit").text
        data = {
            name: html.unescape(field_value(current, name) or "")
            for name in ("title", "description", "body", "tags", "model_hint")
        }
        data["visibility"] = "private" if 'value="private" checked' in current else "public"
        return self.post(f"/prompts/{prompt_id}/edit", {**data, **fields})

    @property
    def session_cookie(self) -> str | None:
        """The raw value of the session cookie."""
        cookie = self.client.get_cookie("session")
        return cookie.value if cookie else None


@pytest.fixture
def auth(frontend_client: FlaskClient) -> AuthActions:
    """A browser on the website, not logged in yet."""
    return AuthActions(frontend_client)


@pytest.fixture
def alice(auth: AuthActions) -> AuthActions:
    """A browser logged in as alice."""
    assert auth.register("alice").status_code == 302
    return auth


NewBrowser = Callable[[], "AuthActions"]


@pytest.fixture
def new_browser(frontend_client: FlaskClient) -> NewBrowser:
    """Another browser (own cookies) on the same website and database."""

    def make() -> AuthActions:
        return AuthActions(frontend_client.application.test_client())

    return make


@pytest.fixture
def bob(new_browser: NewBrowser) -> AuthActions:
    """A second browser, logged in as bob."""
    browser = new_browser()
    assert browser.register("bob").status_code == 302
    return browser
