"""Registration and public profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from composite.config import Settings
from composite.library import passwords
from tests.library.backend.conftest import ApiUser


def test_register_returns_the_new_user(client: TestClient) -> None:
    response = client.post("/api/users", json={"username": "ada.lovelace", "password": "analytical"})
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "ada.lovelace"
    assert isinstance(body["id"], int)
    assert set(body) == {"id", "username"}


def test_register_a_taken_name_is_409_in_any_letter_case(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/api/users", json={"username": "ALICE", "password": "another password"})
    assert response.status_code == 409
    assert "taken" in response.json()["detail"]


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("ab", "long enough", "username"),  # 2 characters
        ("a" * 33, "long enough", "username"),
        ("has space", "long enough", "username"),
        ("émile", "long enough", "username"),
        ("slash/name", "long enough", "username"),
        ("okname", "short", "password"),  # 5 characters
        ("okname", "1234567", "password"),  # one short of 8
        ("okname", "x" * 1025, "password"),
    ],
)
def test_register_enforces_the_limits(client: TestClient, username: str, password: str, field: str) -> None:
    response = client.post("/api/users", json={"username": username, "password": password})
    assert response.status_code == 422
    assert [issue["loc"] for issue in response.json()["detail"]] == [["body", field]]


@pytest.mark.parametrize("username", ["abc", "a" * 32, "A_b.c-9"])
def test_register_accepts_the_edges_of_the_limits(client: TestClient, username: str) -> None:
    response = client.post("/api/users", json={"username": username, "password": "12345678"})
    assert response.status_code == 201


def test_register_needs_both_fields(client: TestClient) -> None:
    response = client.post("/api/users", json={"username": "someone"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_profile_counts_public_prompts_and_their_stars(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    public = alice.create_prompt(title="Public one")
    alice.create_prompt(title="Private one", visibility="private")
    bob.put(f"/api/prompts/{public['id']}/star")
    response = client.get("/api/users/alice")
    assert response.status_code == 200
    profile = response.json()
    assert profile["username"] == "alice"
    assert profile["public_prompts"] == 1
    assert profile["stars_received"] == 1
    assert datetime.fromisoformat(profile["created_at"]).tzinfo is not None


def test_profile_is_found_in_any_letter_case(client: TestClient, alice: ApiUser) -> None:
    assert client.get("/api/users/ALICE").json()["username"] == "alice"


@pytest.mark.parametrize(("username", "status"), [("nobody", 404), ("ab", 422), ("bad%00name", 422)])
def test_profile_of_an_unknown_or_impossible_name(client: TestClient, username: str, status: int) -> None:
    response = client.get(f"/api/users/{username}")
    assert response.status_code == status
    detail: Any = response.json()["detail"]
    assert detail


def test_registration_is_limited_per_client_address_with_retry_after(client: TestClient) -> None:
    per_hour = int(Settings().register_rate.split("/")[0])
    for n in range(per_hour):
        assert (
            client.post("/api/users", json={"username": f"user{n}", "password": "password123"}).status_code
            == 201
        )
    refused = client.post("/api/users", json={"username": "onemore", "password": "password123"})
    assert refused.status_code == 429
    assert refused.json() == {"detail": "too many sign-ups from this address; try again later"}
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


def test_registration_when_hashing_is_flooded_is_503_with_retry_after(client: TestClient) -> None:
    held = [passwords._slots.acquire(timeout=30) for _ in range(passwords.SLOTS)]
    try:
        busy = client.post("/api/users", json={"username": "alice", "password": "password123"})
    finally:
        for _ in held:
            passwords._slots.release()
    assert busy.status_code == 503
    assert "busy" in busy.json()["detail"]
    assert busy.headers["Retry-After"] == str(passwords.RETRY_AFTER_SECONDS)
