"""Fixtures for the API tests: registered users with tokens, ready to send requests."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
_names = itertools.count(1)


class ApiUser:
    """A registered user with a token, like flaskr's AuthActions for the API."""

    def __init__(self, client: TestClient, username: str, password: str = PASSWORD) -> None:
        self.client = client
        self.username = username
        self.password = password
        response = client.post("/api/users", json={"username": username, "password": password})
        assert response.status_code == 201, response.text
        self.id: int = response.json()["id"]
        self.token = self.new_token()

    def new_token(self, name: str | None = None) -> str:
        """Create another token for this user and return its secret."""
        response = self.client.post(
            "/api/tokens", json={"username": self.username, "password": self.password, "name": name}
        )
        assert response.status_code == 201, response.text
        return response.json()["token"]

    @property
    def headers(self) -> dict[str, str]:
        """Headers that authenticate requests as this user."""
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send a request as this user (extra headers are added to the token)."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET as this user."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """POST as this user."""
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Any:
        """PATCH as this user."""
        return self.request("PATCH", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        """PUT as this user."""
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        """DELETE as this user."""
        return self.request("DELETE", url, **kwargs)

    def create_prompt(self, **fields: Any) -> dict[str, Any]:
        """Create a prompt (a public one unless told otherwise) and return it."""
        body = {"title": "A prompt", "body": "Say hello to {{name}}.", "visibility": "public", **fields}
        response = self.post("/api/prompts", json=body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def client(backend_client: TestClient) -> TestClient:
    """The API client, anonymous."""
    return backend_client


@pytest.fixture
def make_user(client: TestClient) -> Any:
    """Register users on demand: ``make_user()`` or ``make_user("name")``."""

    def make(username: str | None = None) -> ApiUser:
        return ApiUser(client, username or f"user{next(_names)}")

    return make


@pytest.fixture
def alice(make_user: Any) -> ApiUser:
    """A registered user with a token."""
    return make_user("alice")


@pytest.fixture
def bob(make_user: Any) -> ApiUser:
    """Another registered user with a token."""
    return make_user("bob")
