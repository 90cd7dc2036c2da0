"""Prompts: create, read, edit, delete, list and search, with their limits and ownership rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser

FIELDS = {
    "id", "uid", "owner", "title", "description", "body", "model_hint", "tags", "visibility",
    "version", "stars", "forks", "forked_from", "created_at", "updated_at", "placeholders",
}  # fmt: skip


def test_create_prompt_returns_version_1(alice: ApiUser) -> None:
    response = alice.post(
        "/api/prompts",
        json={
            "title": "  Summarise  ",
            "body": "Summarise {{text}} for {{ audience }}; again {{text}}.",
            "description": "Short summaries",
            "model_hint": "any chat model",
            "tags": ["Writing", "summary", "writing"],
            "visibility": "private",
        },
    )
    assert response.status_code == 201
    prompt = response.json()
    assert set(prompt) == FIELDS
    assert prompt["title"] == "Summarise"  # trimmed
    assert prompt["owner"] == "alice"
    assert prompt["version"] == 1
    assert prompt["stars"] == 0
    assert prompt["tags"] == ["writing", "summary"]  # lower-cased, no duplicates
    assert prompt["visibility"] == "private"
    assert [p["name"] for p in prompt["placeholders"]] == ["text", "audience"]
    assert datetime.fromisoformat(prompt["created_at"]).tzinfo is not None


def test_create_prompt_defaults(alice: ApiUser) -> None:
    response = alice.post("/api/prompts", json={"title": "t", "body": "b"})
    assert response.status_code == 201, response.text
    prompt = response.json()
    assert prompt["visibility"] == "private"  # publishing is a choice
    assert prompt["tags"] == []
    assert prompt["description"] == ""
    assert prompt["model_hint"] == ""


def test_spaces_inside_tags_become_hyphens(alice: ApiUser) -> None:
    prompt = alice.create_prompt(tags=["Language Learning", " translation ", "language-learning"])
    assert prompt["tags"] == ["language-learning", "translation"]
    changed = alice.patch(f"/api/prompts/{prompt['id']}", json={"tags": ["Code  Review"]}).json()
    assert changed["tags"] == ["code-review"]


def test_create_prompt_needs_a_token(client: TestClient) -> None:
    response = client.post("/api/prompts", json={"title": "t", "body": "b"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "t" * 201}, "title"),
        ({"body": ""}, "body"),
        ({"body": " \n\t "}, "body"),
        ({"body": "b" * 50_001}, "body"),
        ({"description": "d" * 501}, "description"),
        ({"model_hint": "m" * 101}, "model_hint"),
        ({"tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"tags": ["t" * 33]}, "tags"),
        ({"tags": ["no_underscores"]}, "tags"),
        ({"tags": ["ünïcode"]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": "a,b"}, "tags"),
        ({"visibility": "secret"}, "visibility"),
        ({"title": "nul\x00"}, "title"),
        ({"body": "nul\x00"}, "body"),
        ({"description": "nul\x00"}, "description"),
    ],
)
def test_create_prompt_enforces_the_limits(alice: ApiUser, fields: dict[str, Any], field: str) -> None:
    response = alice.post("/api/prompts", json={"title": "ok", "body": "ok", **fields})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


def test_create_prompt_accepts_the_edges_of_the_limits(alice: ApiUser) -> None:
    prompt = alice.create_prompt(
        title="t" * 200,
        body="b" * 50_000,
        description="d" * 500,
        model_hint="m" * 100,
        tags=[f"tag-{i}" for i in range(9)] + ["x" * 32],
    )
    assert len(prompt["body"]) == 50_000
    assert len(prompt["tags"]) == 10


def test_read_prompt(client: TestClient, alice: ApiUser) -> None:
    created = alice.create_prompt()
    response = client.get(f"/api/prompts/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {**created, "labels": {}, "label": None}  # a read also lists its labels


@pytest.mark.parametrize(
    ("prompt_id", "status"), [(12345, 404), (0, 422), (-1, 422), (2**63, 422), ("x", 422)]
)
def test_read_missing_or_invalid_ids(client: TestClient, prompt_id: object, status: int) -> None:
    assert client.get(f"/api/prompts/{prompt_id}").status_code == status


def test_read_largest_id_is_just_missing(client: TestClient) -> None:
    assert client.get(f"/api/prompts/{2**63 - 1}").status_code == 404


def test_private_prompt_is_404_to_others_and_seen_by_its_owner(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    secret = alice.create_prompt(visibility="private")
    assert client.get(f"/api/prompts/{secret['id']}").status_code == 404
    assert bob.get(f"/api/prompts/{secret['id']}").status_code == 404
    assert alice.get(f"/api/prompts/{secret['id']}").json()["visibility"] == "private"


def test_update_prompt_makes_a_new_version(alice: ApiUser) -> None:
    prompt = alice.create_prompt()
    response = alice.patch(
        f"/api/prompts/{prompt['id']}", json={"title": "Renamed", "tags": ["New"], "body": "Hi {{who}}"}
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["version"] == 2
    assert updated["title"] == "Renamed"
    assert updated["tags"] == ["new"]
    assert updated["placeholders"] == [{"name": "who", "default": "", "multiline": False}]
    assert updated["description"] == prompt["description"]  # untouched
    assert updated["created_at"] == prompt["created_at"]


def test_update_without_a_change_keeps_the_version(alice: ApiUser) -> None:
    prompt = alice.create_prompt()
    for body in ({}, {"title": prompt["title"]}, {"title": None}):
        assert alice.patch(f"/api/prompts/{prompt['id']}", json=body).json()["version"] == 1


def test_update_can_clear_tags_and_change_visibility(alice: ApiUser, client: TestClient) -> None:
    prompt = alice.create_prompt(tags=["a"])
    updated = alice.patch(f"/api/prompts/{prompt['id']}", json={"tags": [], "visibility": "private"}).json()
    assert updated["tags"] == []
    assert client.get(f"/api/prompts/{prompt['id']}").status_code == 404


@pytest.mark.parametrize(
    "changes", [{"title": ""}, {"body": "b" * 50_001}, {"tags": ["bad_tag"]}, {"visibility": "all"}]
)
def test_update_enforces_the_limits(alice: ApiUser, changes: dict[str, Any]) -> None:
    prompt = alice.create_prompt()
    assert alice.patch(f"/api/prompts/{prompt['id']}", json=changes).status_code == 422
    assert alice.get(f"/api/prompts/{prompt['id']}").json()["version"] == 1


def test_update_someone_elses_prompt(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    public = alice.create_prompt()
    private = alice.create_prompt(visibility="private")
    assert bob.patch(f"/api/prompts/{public['id']}", json={"title": "Mine"}).status_code == 403
    assert bob.patch(f"/api/prompts/{private['id']}", json={"title": "Mine"}).status_code == 404
    assert client.patch(f"/api/prompts/{public['id']}", json={"title": "Mine"}).status_code == 401
    assert alice.get(f"/api/prompts/{public['id']}").json()["title"] == "A prompt"


def test_delete_prompt(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt()
    response = alice.delete(f"/api/prompts/{prompt['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/api/prompts/{prompt['id']}").status_code == 404
    assert alice.delete(f"/api/prompts/{prompt['id']}").status_code == 404


def test_delete_someone_elses_prompt(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    public = alice.create_prompt()
    private = alice.create_prompt(visibility="private")
    assert bob.delete(f"/api/prompts/{public['id']}").status_code == 403
    assert bob.delete(f"/api/prompts/{private['id']}").status_code == 404
    assert client.delete(f"/api/prompts/{public['id']}").status_code == 401
    assert client.get(f"/api/prompts/{public['id']}").status_code == 200


# listing and searching -----------------------------------------------------------


def ids(response: Any) -> list[int]:
    """The prompt ids of a list response, in order."""
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_list_shows_public_prompts_and_the_callers_private_ones(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    public = alice.create_prompt(title="Public")
    private = alice.create_prompt(title="Private", visibility="private")
    bobs = bob.create_prompt(title="Bob's")
    assert ids(client.get("/api/prompts")) == [bobs["id"], public["id"]]
    assert ids(bob.get("/api/prompts")) == [bobs["id"], public["id"]]
    assert ids(alice.get("/api/prompts")) == [bobs["id"], private["id"], public["id"]]
    page = client.get("/api/prompts").json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 20, 0)


def test_list_pages(client: TestClient, alice: ApiUser) -> None:
    created = [alice.create_prompt(title=f"Prompt {i}")["id"] for i in range(5)]
    first = client.get("/api/prompts", params={"limit": 2}).json()
    second = client.get("/api/prompts", params={"limit": 2, "offset": 2}).json()
    beyond = client.get("/api/prompts", params={"limit": 2, "offset": 10}).json()
    assert [p["id"] for p in first["items"] + second["items"]] == created[::-1][:4]
    assert first["total"] == second["total"] == beyond["total"] == 5
    assert beyond["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"offset": 10**10},
        {"offset": 100_001},
        {"limit": "many"},
        {"sort": "random"},
        {"q": "x" * 501},
        {"q": "nul\x00"},
        {"tag": "bad tag"},
        {"author": "bad/name"},
    ],
)
def test_list_refuses_invalid_parameters(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/api/prompts", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_list_filters_by_tag_and_author(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    tagged = alice.create_prompt(tags=["email"])
    alice.create_prompt(tags=["code"])
    bobs = bob.create_prompt(tags=["email"])
    assert ids(client.get("/api/prompts", params={"tag": "EMAIL"})) == [bobs["id"], tagged["id"]]
    assert ids(client.get("/api/prompts", params={"tag": "email", "author": "alice"})) == [tagged["id"]]
    assert ids(client.get("/api/prompts", params={"author": "nobody"})) == []
    assert ids(client.get("/api/prompts", params={"tag": "", "author": "", "q": ""})) == ids(
        client.get("/api/prompts")
    )


def test_list_sorts_by_stars(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    plain = alice.create_prompt(title="Plain")
    starred = alice.create_prompt(title="Starred")
    newest = alice.create_prompt(title="Newest")
    bob.put(f"/api/prompts/{starred['id']}/star")
    assert ids(client.get("/api/prompts", params={"sort": "stars"}))[0] == starred["id"]
    assert ids(client.get("/api/prompts", params={"sort": "new"})) == [
        newest["id"],
        starred["id"],
        plain["id"],
    ]


def test_a_listed_prompt_is_what_reading_it_answers_after_every_change(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    # A listing is spliced from each prompt's kept JSON: a change must reach it as it
    # reaches the prompt's own answer, field for field.
    source = alice.create_prompt(title="Source", body="Fill {{topic}} in.")
    fork = bob.post(f"/api/prompts/{source['id']}/fork").json()

    def listed_and_read(viewer: Any, prompt_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        listed = {p["id"]: p for p in viewer.get("/api/prompts", params={"limit": 100}).json()["items"]}
        read = viewer.get(f"/api/prompts/{prompt_id}").json()
        read.pop("labels"), read.pop("label")  # what only the read of one prompt answers
        return listed[prompt_id], read

    for change in (
        lambda: None,
        lambda: bob.put(f"/api/prompts/{source['id']}/star"),
        lambda: alice.patch(f"/api/prompts/{source['id']}", json={"body": "Now {{other}}.", "tags": ["x"]}),
        lambda: alice.patch(f"/api/prompts/{source['id']}", json={"title": "Renamed"}),
        lambda: bob.patch(f"/api/prompts/{fork['id']}", json={"visibility": "public"}),
        lambda: alice.patch(f"/api/prompts/{source['id']}", json={"visibility": "private"}),
    ):
        change()
        for viewer in (client, alice, bob):
            for prompt_id in (source["id"], fork["id"]):
                if viewer.get(f"/api/prompts/{prompt_id}").status_code == 200:
                    listed, read = listed_and_read(viewer, prompt_id)
                    assert listed == read
    listed, _ = listed_and_read(bob, fork["id"])
    assert listed["forked_from"] is None  # the source went private: bob may no longer see it


def test_search_ranks_a_title_match_above_a_body_only_match(client: TestClient, alice: ApiUser) -> None:
    body_only = alice.create_prompt(title="Letters", body="Write a haiku about the sea and its waves.")
    title_match = alice.create_prompt(title="Haiku maker", body="Write a short poem about the sea.")
    alice.create_prompt(title="Unrelated", body="Explain recursion.")
    response = client.get("/api/prompts", params={"q": "haiku"})
    assert ids(response) == [title_match["id"], body_only["id"]]
    assert response.json()["total"] == 2


def test_search_finds_word_forms_in_every_field(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt(
        title="Summaries", body="Condense the text.", description="Writing help", tags=["newsletter"]
    )
    for query in ("summary", "writing", "condense", "newsletters"):
        assert ids(client.get("/api/prompts", params={"q": query})) == [prompt["id"]], query
    assert ids(client.get("/api/prompts", params={"q": "the of and"})) == []  # stop words only


def test_search_sees_edits_at_once(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt(title="Alpha")
    alice.patch(f"/api/prompts/{prompt['id']}", json={"title": "Omega"})
    assert ids(client.get("/api/prompts", params={"q": "alpha"})) == []
    assert ids(client.get("/api/prompts", params={"q": "omega"})) == [prompt["id"]]


def test_search_treats_sql_and_markup_as_text(client: TestClient, alice: ApiUser) -> None:
    text = "'; DROP TABLE prompts; -- <script>alert(1)</script>"
    prompt = alice.create_prompt(title=text, body=text)
    assert client.get(f"/api/prompts/{prompt['id']}").json()["title"] == text
    assert ids(client.get("/api/prompts", params={"q": text})) == [prompt["id"]]
