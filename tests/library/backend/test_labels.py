"""Labels through the API: every status of PUT and DELETE, ?label=, and labels in the answers."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from composite.library.labels import MAX_LABELS
from tests.library.backend.conftest import ApiUser


@pytest.fixture
def three(alice: ApiUser) -> dict[str, Any]:
    """A public prompt of alice's at version 3."""
    prompt = alice.create_prompt(title="Greeter", body="Hello {{name}}, version 1.")
    for number in (2, 3):
        alice.patch(f"/api/prompts/{prompt['id']}", json={"body": f"Hello {{{{name}}}}, version {number}."})
    return alice.get(f"/api/prompts/{prompt['id']}").json()


def label_url(prompt: dict[str, Any], name: str = "production") -> str:
    """The URL of one of the prompt's labels."""
    return f"/api/prompts/{prompt['id']}/labels/{name}"


def test_put_creates_then_moves_and_get_follows(
    client: TestClient, alice: ApiUser, three: dict[str, Any]
) -> None:
    created = alice.put(label_url(three), json={"version": 1})
    assert created.status_code == 201
    assert created.json() | {"updated_at": None} == {
        "prompt_id": three["id"],
        "name": "production",
        "version": 1,
        "updated_at": None,
    }
    answer = client.get(f"/api/prompts/{three['id']}", params={"label": "production"})
    assert answer.status_code == 200
    got = answer.json()
    assert (got["body"], got["version"], got["label"]) == ("Hello {{name}}, version 1.", 1, "production")
    assert got["labels"] == {"production": 1}
    assert got["placeholders"] == three["placeholders"]
    moved = alice.put(label_url(three), json={"version": 3})
    assert (moved.status_code, moved.json()["version"]) == (200, 3)
    again = alice.put(label_url(three), json={"version": 3})
    assert again.status_code == 200
    got = client.get(f"/api/prompts/{three['id']}?label=production").json()
    assert (got["body"], got["version"]) == ("Hello {{name}}, version 3.", 3)


def test_labels_show_in_the_prompt_and_its_versions(
    client: TestClient, alice: ApiUser, three: dict[str, Any]
) -> None:
    alice.put(label_url(three), json={"version": 2})
    alice.put(label_url(three, "staging"), json={"version": 3})
    alice.put(label_url(three, "canary"), json={"version": 3})
    latest = client.get(f"/api/prompts/{three['id']}").json()
    assert latest["labels"] == {"canary": 3, "production": 2, "staging": 3}
    assert (latest["label"], latest["version"]) == (None, 3)
    versions = client.get(f"/api/prompts/{three['id']}/versions").json()
    assert [(v["version"], v["labels"]) for v in versions] == [
        (3, ["canary", "staging"]),
        (2, ["production"]),
        (1, []),
    ]
    assert client.get(f"/api/prompts/{three['id']}/versions/2").json()["labels"] == ["production"]


def test_delete_removes_and_then_404s(client: TestClient, alice: ApiUser, three: dict[str, Any]) -> None:
    alice.put(label_url(three), json={"version": 2})
    removed = alice.delete(label_url(three))
    assert (removed.status_code, removed.content) == (204, b"")
    missing = alice.delete(label_url(three))
    assert missing.status_code == 404
    assert missing.json() == {"detail": f"prompt {three['id']} has no label 'production'"}
    gone = client.get(f"/api/prompts/{three['id']}", params={"label": "production"})
    assert gone.status_code == 404
    assert gone.json() == {"detail": f"prompt {three['id']} has no label 'production'"}
    assert client.get(f"/api/prompts/{three['id']}/versions/2").json()["labels"] == []


def test_missing_versions_and_prompts_are_404(alice: ApiUser, three: dict[str, Any]) -> None:
    response = alice.put(label_url(three), json={"version": 4})
    assert response.status_code == 404
    assert response.json() == {"detail": f"prompt {three['id']} has no version 4"}
    assert alice.put("/api/prompts/999/labels/production", json={"version": 1}).status_code == 404
    assert alice.delete("/api/prompts/999/labels/production").status_code == 404


def test_others_may_not_label(
    client: TestClient, bob: ApiUser, alice: ApiUser, three: dict[str, Any]
) -> None:
    alice.put(label_url(three), json={"version": 1})
    # bob can see the prompt: 403. Someone else's private prompt: 404, as if it did not exist.
    forbidden = bob.put(label_url(three), json={"version": 2})
    assert forbidden.status_code == 403
    assert forbidden.json() == {"detail": "only the owner of a prompt may change it"}
    assert bob.delete(label_url(three)).status_code == 403
    secret = alice.create_prompt(title="Secret", body="text", visibility="private")
    assert bob.put(label_url(secret), json={"version": 1}).status_code == 404
    assert bob.delete(label_url(secret)).status_code == 404
    # No token at all: 401.
    assert client.put(label_url(three), json={"version": 1}).status_code == 401
    assert client.delete(label_url(three)).status_code == 401
    assert client.get(f"/api/prompts/{three['id']}?label=production").json()["version"] == 1


@pytest.mark.parametrize("name", ["Production", "prod_1", "a" * 33, "%C3%A9", "pr%20od", "%00"])
def test_bad_names_are_422(alice: ApiUser, three: dict[str, Any], name: str) -> None:
    for response in (
        alice.put(label_url(three, name), json={"version": 1}),
        alice.delete(label_url(three, name)),
        alice.get(f"/api/prompts/{three['id']}?label={name}"),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"][-1] in ("name", "label")


@pytest.mark.parametrize("body", [{}, {"version": 0}, {"version": 2**31}, {"version": "two"}, [1]])
def test_bad_bodies_are_422(alice: ApiUser, three: dict[str, Any], body: Any) -> None:
    assert alice.put(label_url(three), json=body).status_code == 422


def test_the_number_of_labels_is_bounded(alice: ApiUser, three: dict[str, Any]) -> None:
    for number in range(MAX_LABELS):
        assert alice.put(label_url(three, f"l{number}"), json={"version": 1}).status_code == 201
    refused = alice.put(label_url(three, "one-more"), json={"version": 1})
    assert refused.status_code == 409
    assert refused.json() == {"detail": f"a prompt has at most {MAX_LABELS} labels: remove one first"}
    assert len(alice.get(f"/api/prompts/{three['id']}").json()["labels"]) == MAX_LABELS


def test_a_label_never_shows_a_version_saved_private(
    client: TestClient, alice: ApiUser, bob: ApiUser
) -> None:
    prompt = alice.create_prompt(title="Plan", body="open text")
    alice.patch(f"/api/prompts/{prompt['id']}", json={"body": "the secret draft", "visibility": "private"})
    alice.patch(f"/api/prompts/{prompt['id']}", json={"body": "open again", "visibility": "public"})
    assert alice.put(label_url(prompt, "staging"), json={"version": 2}).status_code == 201
    assert alice.put(label_url(prompt), json={"version": 3}).status_code == 201
    owner = alice.get(f"/api/prompts/{prompt['id']}?label=staging").json()
    assert (owner["body"], owner["labels"]) == ("the secret draft", {"production": 3, "staging": 2})
    for viewer in (client, bob):
        hidden = viewer.get(f"/api/prompts/{prompt['id']}?label=staging")
        assert hidden.status_code == 404
        assert hidden.json() == {"detail": f"prompt {prompt['id']} has no label 'staging'"}
        shown = viewer.get(f"/api/prompts/{prompt['id']}").json()
        assert shown["labels"] == {"production": 3}
        versions = viewer.get(f"/api/prompts/{prompt['id']}/versions")
        assert [(v["version"], v["labels"]) for v in versions.json()] == [(3, ["production"]), (1, [])]
        assert "secret" not in versions.text + shown["body"]
