"""Tags over public prompts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from composite.db import Database
from composite.library.prompts import create_prompt
from tests.library.backend.conftest import ApiUser


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


def test_tags_come_a_page_at_a_time(client: TestClient, db: Database, make_user: Any) -> None:
    carol = make_user("carol")
    for number in range(25):  # 250 tags, each on one public prompt
        create_prompt(
            db,
            carol,
            title=f"P{number}",
            body="b",
            tags=[f"t{number:02d}-{k}" for k in range(10)],
            visibility="public",
        )
    first = client.get("/api/tags").json()
    assert len(first) == 100  # the default: one import's worth of tags cannot make it huge
    rest = client.get("/api/tags", params={"limit": 1000, "offset": 100}).json()
    assert len(rest) == 150
    assert not {tag["name"] for tag in first} & {tag["name"] for tag in rest}
