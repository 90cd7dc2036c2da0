"""Tags over public prompts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.backend.conftest import ApiUser


def test_tags_are_counted_over_public_prompts_most_used_first(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    alice.create_prompt(tags=["email", "work"])
    bob.create_prompt(tags=["Email"])
    alice.create_prompt(tags=["secret", "email"], visibility="private")
    response = client.get("/api/tags")
    assert response.status_code == 200
    assert response.json() == [{"name": "email", "count": 2}, {"name": "work", "count": 1}]
    assert alice.get("/api/tags").json() == response.json()  # even the owner sees public counts only


def test_tags_limit(client: TestClient, alice: ApiUser) -> None:
    alice.create_prompt(tags=["a", "b", "c"])
    assert len(client.get("/api/tags", params={"limit": 2}).json()) == 2
    assert client.get("/api/tags", params={"limit": 0}).status_code == 422


def test_no_tags_yet(client: TestClient) -> None:
    assert client.get("/api/tags").json() == []
