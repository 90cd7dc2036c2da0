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


def test_a_user_lists_their_own_stars_and_only_prompts_they_may_see(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    first = alice.create_prompt(title="First")
    later_private = alice.create_prompt(title="Made private")
    second = alice.create_prompt(title="Second")
    for prompt in (first, later_private, second):
        bob.put(f"/api/prompts/{prompt['id']}/star")
    alice.patch(f"/api/prompts/{later_private['id']}", json={"visibility": "private"})
    page = bob.get("/api/users/bob/stars").json()
    assert ([p["title"] for p in page["items"]], page["total"]) == (["Second", "First"], 2)
    assert page["items"][0]["stars"] == 1
    page = bob.get("/api/users/BOB/stars", params={"limit": 1, "offset": 1}).json()
    assert ([p["title"] for p in page["items"]], page["limit"], page["offset"]) == (["First"], 1, 1)
    assert "Made private" not in bob.get("/api/users/bob/stars").text


def test_stars_are_private_to_their_owner(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    bob.put(f"/api/prompts/{alice.create_prompt()['id']}/star")
    assert client.get("/api/users/bob/stars").status_code == 401
    response = alice.get("/api/users/bob/stars")
    assert response.status_code == 403
    assert response.json() == {"detail": "stars are private: you may list only your own"}
    assert alice.get("/api/users/nobody/stars").status_code == 403  # any other name, taken or not
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}):
        assert bob.get("/api/users/bob/stars", params=params).status_code == 422
    assert bob.get("/api/users/a b/stars").status_code == 422
