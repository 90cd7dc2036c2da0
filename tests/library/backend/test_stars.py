"""Stars: idempotent, counted once per user, only on prompts the caller can see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser


def test_star_is_idempotent_and_counted_once_per_user(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    prompt = alice.create_prompt()
    url = f"/api/prompts/{prompt['id']}/star"
    assert bob.put(url).json() == {"stars": 1}
    assert bob.put(url).json() == {"stars": 1}
    assert alice.put(url).json() == {"stars": 2}
    assert client.get(f"/api/prompts/{prompt['id']}").json()["stars"] == 2
    assert bob.delete(url).json() == {"stars": 1}
    assert bob.delete(url).json() == {"stars": 1}
    assert alice.delete(url).json() == {"stars": 0}
    assert alice.delete(url).status_code == 200


def test_star_needs_a_token(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt()
    assert client.put(f"/api/prompts/{prompt['id']}/star").status_code == 401
    assert client.delete(f"/api/prompts/{prompt['id']}/star").status_code == 401
    assert client.get(f"/api/prompts/{prompt['id']}").json()["stars"] == 0


def test_star_a_missing_or_hidden_prompt_is_404(alice: ApiUser, bob: ApiUser) -> None:
    private = alice.create_prompt(visibility="private")
    assert bob.put(f"/api/prompts/{private['id']}/star").status_code == 404
    assert bob.delete(f"/api/prompts/{private['id']}/star").status_code == 404
    assert bob.put("/api/prompts/999/star").status_code == 404
    assert bob.put("/api/prompts/0/star").status_code == 422
    assert alice.put(f"/api/prompts/{private['id']}/star").json() == {"stars": 1}
