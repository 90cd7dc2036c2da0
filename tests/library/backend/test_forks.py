"""POST /api/prompts/{id}/fork: a private copy in the caller's library, linked to its source."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser


def test_fork_answers_201_with_the_new_private_prompt_and_its_location(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    source = alice.create_prompt(title="Review", body="Review ${file:main.py}.", tags=["code"])
    response = bob.post(f"/api/prompts/{source['id']}/fork")
    assert response.status_code == 201, response.text
    fork = response.json()
    assert response.headers["Location"] == f"/api/prompts/{fork['id']}"
    assert (fork["owner"], fork["visibility"], fork["version"], fork["forks"]) == ("bob", "private", 1, 0)
    assert (fork["title"], fork["body"], fork["tags"]) == ("Review", "Review ${file:main.py}.", ["code"])
    assert fork["forked_from"] == {"id": source["id"], "title": "Review", "owner": "alice"}
    assert bob.get(response.headers["Location"]).json() == {**fork, "labels": {}, "label": None}
    assert client.get(f"/api/prompts/{fork['id']}").status_code == 404  # private: bob's alone
    assert client.get(f"/api/prompts/{source['id']}").json()["forks"] == 0  # so not counted
    assert alice.get(f"/api/prompts/{source['id']}").json()["forked_from"] is None
    listed = bob.get("/api/prompts", params={"author": "bob"}).json()["items"]
    assert [p["id"] for p in listed] == [fork["id"]]


def test_fork_needs_a_token_and_a_prompt_the_caller_can_see(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    public = alice.create_prompt()
    private = alice.create_prompt(visibility="private")
    assert client.post(f"/api/prompts/{public['id']}/fork").status_code == 401
    for prompt_id in (private["id"], 999_999):
        response = bob.post(f"/api/prompts/{prompt_id}/fork")
        assert response.status_code == 404
        assert response.json() == {"detail": f"no prompt {prompt_id}"}
    assert bob.post("/api/prompts/0/fork").status_code == 422
    assert alice.post(f"/api/prompts/{private['id']}/fork").status_code == 201  # her own
    assert alice.get(f"/api/prompts/{private['id']}").json()["forks"] == 0  # a private fork
    assert client.get(f"/api/prompts/{public['id']}").json()["forks"] == 0


def test_the_source_link_hides_once_the_source_is_private(
    client: TestClient, alice: ApiUser, bob: ApiUser, make_user
) -> None:
    source = alice.create_prompt(title="Soon hidden")
    fork = bob.post(f"/api/prompts/{source['id']}/fork").json()
    bob.patch(f"/api/prompts/{fork['id']}", json={"visibility": "public"})
    alice.patch(f"/api/prompts/{source['id']}", json={"visibility": "private"})
    carol = make_user("carol")
    for who in (client, bob, carol):
        assert who.get(f"/api/prompts/{fork['id']}").json()["forked_from"] is None
        listed = who.get("/api/prompts", params={"author": "bob"}).json()["items"]
        assert [(p["id"], p["forked_from"]) for p in listed] == [(fork["id"], None)]
        assert "Soon hidden" not in who.get("/api/prompts", params={"q": "prompt"}).text
    assert alice.get(f"/api/prompts/{fork['id']}").json()["forked_from"]["title"] == "Soon hidden"


def test_a_forks_etag_changes_when_its_source_is_hidden_renamed_or_forked(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    source = alice.create_prompt(title="Before")
    fork = bob.post(f"/api/prompts/{source['id']}/fork").json()
    bob.patch(f"/api/prompts/{fork['id']}", json={"visibility": "public"})
    url = f"/api/prompts/{fork['id']}"

    def revalidate(tag: str) -> tuple[int, str]:
        response = client.get(url, headers={"If-None-Match": tag})
        return response.status_code, response.headers["ETag"]

    tag = client.get(url).headers["ETag"]
    assert revalidate(tag) == (304, tag)
    for change in ({"title": "After"}, {"visibility": "private"}):
        alice.patch(f"/api/prompts/{source['id']}", json=change)
        status, new_tag = revalidate(tag)
        assert status == 200
        assert new_tag != tag
        tag = new_tag
    assert client.get(url).json()["forked_from"] is None
    tag = client.get(url).headers["ETag"]
    copy = bob.post(f"/api/prompts/{fork['id']}/fork").json()
    assert revalidate(tag) == (304, tag)  # a private copy shows nowhere on the fork
    bob.patch(f"/api/prompts/{copy['id']}", json={"visibility": "public"})
    assert revalidate(tag)[0] == 200  # published: the fork's own count goes up


def test_private_forks_are_counted_for_no_one(
    client: TestClient, alice: ApiUser, bob: ApiUser, make_user
) -> None:
    source = alice.create_prompt(title="Copied in private")
    copies = [bob.post(f"/api/prompts/{source['id']}/fork").json() for _ in range(2)]
    carol = make_user("carol")
    url = f"/api/prompts/{source['id']}"
    # Anonymous, the source's owner, a stranger and the forks' own owner: one count for all.
    for who in (client, alice, carol, bob):
        assert who.get(url).json()["forks"] == 0
        listed = who.get("/api/prompts", params={"author": "alice"}).json()["items"]
        assert [(p["id"], p["forks"]) for p in listed] == [(source["id"], 0)]
    bob.patch(f"/api/prompts/{copies[0]['id']}", json={"visibility": "public"})
    for who in (client, alice, carol, bob):
        assert who.get(url).json()["forks"] == 1
    bob.delete(f"/api/prompts/{copies[1]['id']}")  # the private one: nothing to uncount
    assert client.get(url).json()["forks"] == 1
