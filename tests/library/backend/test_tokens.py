"""API tokens: created with a password (throttled), listed, revoked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from composite.db import Database
from composite.library.throttle import MAX_PER_USERNAME
from tests.library.backend.conftest import PASSWORD, ApiUser


def test_create_token_shows_the_secret_once(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/api/tokens", json={"username": "alice", "password": PASSWORD, "name": "laptop"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "id", "name", "prefix", "created_at"}
    assert body["name"] == "laptop"
    assert body["token"].startswith(body["prefix"])
    listed = alice.get("/api/tokens").json()
    assert body["id"] in [token["id"] for token in listed]
    assert all("token" not in token for token in listed)


def test_token_name_defaults_and_limits(client: TestClient, alice: ApiUser) -> None:
    unnamed = client.post("/api/tokens", json={"username": "alice", "password": PASSWORD})
    assert unnamed.json()["name"] == "token"
    too_long = client.post("/api/tokens", json={"username": "alice", "password": PASSWORD, "name": "n" * 65})
    assert too_long.status_code == 422


def test_a_new_token_authenticates(client: TestClient, alice: ApiUser) -> None:
    token = alice.new_token("second")
    response = client.get("/api/tokens", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [t["name"] for t in response.json()][:1] == ["second"]  # newest first


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", PASSWORD), ("ALICE", "Correct horse battery")],
)
def test_wrong_credentials_are_401(client: TestClient, alice: ApiUser, username: str, password: str) -> None:
    response = client.post("/api/tokens", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_username_letter_case_does_not_matter(client: TestClient, alice: ApiUser) -> None:
    response = client.post("/api/tokens", json={"username": "Alice", "password": PASSWORD})
    assert response.status_code == 201


def test_repeated_failures_are_throttled_with_retry_after(client: TestClient, alice: ApiUser) -> None:
    for _ in range(MAX_PER_USERNAME):
        assert (
            client.post("/api/tokens", json={"username": "alice", "password": "guess1234"}).status_code == 401
        )
    refused = client.post("/api/tokens", json={"username": "alice", "password": "guess1234"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "detail" in refused.json()
    # Even the right password waits: the budget is checked before the password.
    right = client.post("/api/tokens", json={"username": "alice", "password": PASSWORD})
    assert right.status_code == 429


def test_revoke_token_stops_it_working(client: TestClient, alice: ApiUser) -> None:
    spare = client.post(
        "/api/tokens", json={"username": "alice", "password": PASSWORD, "name": "spare"}
    ).json()
    spare_headers = {"Authorization": f"Bearer {spare['token']}"}
    assert client.get("/api/tokens", headers=spare_headers).status_code == 200
    response = alice.delete(f"/api/tokens/{spare['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/api/tokens", headers=spare_headers).status_code == 401
    assert spare["id"] not in [token["id"] for token in alice.get("/api/tokens").json()]


def test_revoke_someone_elses_token_is_404(alice: ApiUser, bob: ApiUser) -> None:
    bobs = bob.get("/api/tokens").json()[0]["id"]
    assert alice.delete(f"/api/tokens/{bobs}").status_code == 404
    assert bob.get("/api/tokens").status_code == 200


@pytest.mark.parametrize(("token_id", "status"), [(999, 404), (0, 422), (2**63, 422), ("x", 422)])
def test_revoke_unknown_or_invalid_ids(alice: ApiUser, token_id: object, status: int) -> None:
    assert alice.delete(f"/api/tokens/{token_id}").status_code == status


def test_token_endpoints_need_a_token(client: TestClient) -> None:
    assert client.get("/api/tokens").status_code == 401
    assert client.delete("/api/tokens/1").status_code == 401


def test_a_user_holds_a_bounded_number_of_tokens(client: TestClient, alice: ApiUser, db: Database) -> None:
    from composite.library.credentials import MAX_TOKENS, create_token

    credentials = {"username": alice.username, "password": alice.password}
    held = len(client.get("/api/tokens", headers=alice.headers).json())
    for _ in range(MAX_TOKENS - held):  # in the database directly: the API would rate-limit them
        create_token(db, alice.id)
    refused = client.post("/api/tokens", json=credentials)
    assert refused.status_code == 409
    assert "revoke one" in refused.json()["detail"]
    assert len(client.get("/api/tokens", headers=alice.headers).json()) == MAX_TOKENS
