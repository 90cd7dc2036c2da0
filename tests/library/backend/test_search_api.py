"""Search through the API: privacy for every visibility change, freshness, what was searched for."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser


def search(client: Any, q: str, **params: Any) -> dict[str, Any]:
    response = client.get("/api/prompts", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def found(client: Any, q: str, **params: Any) -> list[int]:
    return [item["id"] for item in search(client, q, **params)["items"]]


def test_a_written_prompt_is_found_by_the_very_next_request(client: TestClient, alice: ApiUser) -> None:
    for n in range(5):
        prompt = alice.create_prompt(title=f"Zeppelin log {n}", body=f"airship number{n}")
        assert found(client, f"number{n}") == [prompt["id"]]
        alice.patch(f"/api/prompts/{prompt['id']}", json={"body": f"balloon counter{n}"})
        assert found(client, f"number{n}") == []
        assert found(client, f"counter{n}") == [prompt["id"]]
    alice.delete(f"/api/prompts/{prompt['id']}")
    assert found(client, "counter4") == []


def test_private_prompts_are_never_returned_or_counted(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    shown = alice.create_prompt(title="Walrus public", body="walrus")
    secret = alice.create_prompt(title="Walrus secret", body="walrus", visibility="private")

    def seen(viewer: Any) -> tuple[set[int], int]:
        page = search(viewer, "walrus")
        return {item["id"] for item in page["items"]}, page["total"]

    assert seen(client) == ({shown["id"]}, 1)  # anonymous
    assert seen(bob) == ({shown["id"]}, 1)  # another user
    assert seen(alice) == ({shown["id"], secret["id"]}, 2)  # the owner
    # private -> public: everyone finds it at once
    alice.patch(f"/api/prompts/{secret['id']}", json={"visibility": "public"})
    assert seen(client) == ({shown["id"], secret["id"]}, 2)
    assert seen(bob) == ({shown["id"], secret["id"]}, 2)
    # public -> private: gone for everyone else, counted by no one else
    alice.patch(f"/api/prompts/{shown['id']}", json={"visibility": "private"})
    assert seen(client) == ({secret["id"]}, 1)
    assert seen(bob) == ({secret["id"]}, 1)
    assert seen(alice) == ({shown["id"], secret["id"]}, 2)
    # deleted: gone for the owner too
    alice.delete(f"/api/prompts/{shown['id']}")
    assert seen(alice) == ({secret["id"]}, 1)
    # filters and other sorts keep to the same rule
    for params in ({"tag": ""}, {"sort": "new"}, {"sort": "stars"}, {"author": "alice"}):
        assert {item["id"] for item in search(bob, "walrus", **params)["items"]} == {secret["id"]}


def test_a_typo_is_never_corrected_to_a_word_only_private_prompts_hold(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    alice.create_prompt(title="Codename", body="quokka plan", visibility="private")
    page = search(bob, "qoukka")
    assert (page["items"], page["total"], page["notice"]) == ([], 0, None)
    assert search(alice, "qoukka")["searched_for"] == "quokka"


def test_the_api_says_what_it_searched_for(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt(title="Translate to Spanish", body="Translate this.")
    page = search(client, "transalte")
    assert [item["id"] for item in page["items"]] == [prompt["id"]]
    assert page["searched_for"] == "translate"
    assert page["notice"] == "Showing results for translate"
    assert (search(client, "translate")["notice"], search(client, "translate")["searched_for"]) == (
        None,
        None,
    )
    assert client.get("/api/prompts").json()["searched_for"] is None


def test_a_stop_word_query_is_empty_with_a_notice(client: TestClient, alice: ApiUser) -> None:
    alice.create_prompt(title="The the the", body="the")
    page = search(client, "the")
    assert (page["items"], page["total"], page["searched_for"]) == ([], 0, None)
    assert "common" in page["notice"]
