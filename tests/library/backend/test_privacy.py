"""A private prompt shows to its owner alone: every way of reaching it is tried."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser

SECRET = "zanzibarquokka"  # a word found nowhere else, to search for


@pytest.fixture
def secret(alice: ApiUser) -> dict[str, Any]:
    """A private prompt of alice's, edited once, with a tag and a searchable word."""
    prompt = alice.create_prompt(
        title=f"Private {SECRET}", body=f"Body {SECRET}", tags=["hidden-tag"], visibility="private"
    )
    return alice.patch(f"/api/prompts/{prompt['id']}", json={"body": f"Edited {SECRET}"}).json()


@pytest.fixture(params=["anonymous", "bob"])
def other(request: pytest.FixtureRequest, client: TestClient, bob: ApiUser) -> Any:
    """Someone who is not the owner: no token, or another user's."""
    return client if request.param == "anonymous" else bob


def test_not_readable(other: Any, secret: dict[str, Any]) -> None:
    for url in ("", "/versions", "/versions/1", "/versions/2", "/diff", "/diff?from=1&to=2"):
        response = other.get(f"/api/prompts/{secret['id']}{url}")
        assert response.status_code == 404, url
        assert SECRET not in response.text


def test_not_listed_searched_or_filtered(other: Any, secret: dict[str, Any]) -> None:
    for params in ({}, {"q": SECRET}, {"tag": "hidden-tag"}, {"author": "alice"}, {"sort": "stars"}):
        response = other.get("/api/prompts", params=params)
        assert response.status_code == 200
        assert response.json()["total"] == 0, params
        assert SECRET not in response.text


def test_not_in_tags_or_profile_counts(other: Any, secret: dict[str, Any]) -> None:
    assert "hidden-tag" not in other.get("/api/tags").text
    assert other.get("/api/users/alice").json()["public_prompts"] == 0


def test_not_exported_to_others(bob: ApiUser, secret: dict[str, Any]) -> None:
    assert SECRET not in bob.get("/api/export").text


def test_not_changeable_and_indistinguishable_from_missing(bob: ApiUser, secret: dict[str, Any]) -> None:
    attempts = [
        ("PATCH", "", {"json": {"title": "mine"}}),
        ("DELETE", "", {}),
        ("POST", "/versions/1/restore", {}),
        ("PUT", "/star", {}),
        ("DELETE", "/star", {}),
    ]
    for method, url, kwargs in attempts:
        hidden = bob.request(method, f"/api/prompts/{secret['id']}{url}", **kwargs)
        missing = bob.request(method, f"/api/prompts/99999{url}", **kwargs)
        assert hidden.status_code == missing.status_code == 404, (method, url)
        assert SECRET not in hidden.text


def test_owner_sees_it_everywhere(alice: ApiUser, secret: dict[str, Any]) -> None:
    assert alice.get(f"/api/prompts/{secret['id']}").status_code == 200
    assert [v["version"] for v in alice.get(f"/api/prompts/{secret['id']}/versions").json()] == [2, 1]
    assert alice.get(f"/api/prompts/{secret['id']}/diff").status_code == 200
    assert alice.get("/api/prompts", params={"q": SECRET}).json()["total"] == 1
    assert alice.get("/api/prompts", params={"tag": "hidden-tag"}).json()["total"] == 1
    assert SECRET in alice.get("/api/export").text
