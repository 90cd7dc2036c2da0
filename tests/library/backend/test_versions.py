"""Prompt history: versions listed and read, compared, restored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser


@pytest.fixture
def edited(alice: ApiUser) -> dict[str, Any]:
    """A prompt of alice's at version 3: the title changed, then the body."""
    prompt = alice.create_prompt(title="First", body="line one\nline two")
    alice.patch(f"/api/prompts/{prompt['id']}", json={"title": "Second"})
    return alice.patch(f"/api/prompts/{prompt['id']}", json={"body": "line one\nline 2\nline three"}).json()


def test_versions_are_listed_newest_first(client: TestClient, edited: dict[str, Any]) -> None:
    response = client.get(f"/api/prompts/{edited['id']}/versions")
    assert response.status_code == 200
    versions = response.json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["title"] for v in versions] == ["Second", "Second", "First"]
    assert versions[2]["body"] == "line one\nline two"
    assert {v["prompt_id"] for v in versions} == {edited["id"]}


def test_versions_come_a_page_at_a_time(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt(title="Many", body="edit 0")
    for number in range(1, 25):
        alice.patch(f"/api/prompts/{prompt['id']}", json={"body": f"edit {number}"})
    first = client.get(f"/api/prompts/{prompt['id']}/versions")
    assert first.headers["x-total-count"] == "25"
    assert [v["version"] for v in first.json()] == list(range(25, 5, -1))
    rest = client.get(f"/api/prompts/{prompt['id']}/versions", params={"offset": 20, "limit": 100})
    assert [v["version"] for v in rest.json()] == [5, 4, 3, 2, 1]
    too_many = client.get(f"/api/prompts/{prompt['id']}/versions", params={"limit": 101})
    assert too_many.status_code == 422


def test_read_one_version(client: TestClient, edited: dict[str, Any]) -> None:
    response = client.get(f"/api/prompts/{edited['id']}/versions/1")
    assert response.status_code == 200
    assert response.json()["title"] == "First"


@pytest.mark.parametrize(("version", "status"), [(4, 404), (0, 422), (2**31, 422), ("x", 422)])
def test_read_missing_or_invalid_version(
    client: TestClient, edited: dict[str, Any], version: object, status: int
) -> None:
    assert client.get(f"/api/prompts/{edited['id']}/versions/{version}").status_code == status


def test_versions_of_a_missing_prompt(client: TestClient) -> None:
    assert client.get("/api/prompts/999/versions").status_code == 404
    assert client.get("/api/prompts/999/versions/1").status_code == 404
    assert client.get("/api/prompts/999/diff").status_code == 404


def test_diff_between_two_versions(client: TestClient, edited: dict[str, Any]) -> None:
    response = client.get(f"/api/prompts/{edited['id']}/diff", params={"from": 1, "to": 3})
    assert response.status_code == 200
    diff = response.json()
    assert (diff["prompt_id"], diff["from_version"], diff["to_version"]) == (edited["id"], 1, 3)
    assert diff["changes"] == [{"field": "title", "old": "First", "new": "Second"}]
    assert diff["lines"] == [
        {"op": " ", "text": "line one"},
        {
            "op": "-",
            "text": "line two",
            "segments": [{"op": "equal", "text": "line "}, {"op": "delete", "text": "two"}],
        },
        {
            "op": "+",
            "text": "line 2",
            "segments": [{"op": "equal", "text": "line "}, {"op": "insert", "text": "2"}],
        },
        {"op": "+", "text": "line three"},  # no removed line to pair with: shown whole
    ]
    assert diff["exact"] is True
    assert diff["words_exact"] is True


def test_a_one_word_edit_of_a_paragraph_is_one_word_in_the_diff(client: TestClient, alice: ApiUser) -> None:
    paragraph = "I want you to act as a travel guide. " * 11 + "Suggest a museum nearby."
    prompt = alice.create_prompt(body=paragraph)
    alice.patch(f"/api/prompts/{prompt['id']}", json={"body": paragraph.replace("museum", "park")})
    removed, added = client.get(f"/api/prompts/{prompt['id']}/diff").json()["lines"]
    assert (removed["op"], removed["text"], added["op"]) == ("-", paragraph, "+")
    assert removed["segments"] == [
        {"op": "equal", "text": paragraph[: paragraph.index("museum")]},
        {"op": "delete", "text": "museum"},
        {"op": "equal", "text": " nearby."},
    ]
    assert [(s["op"], s["text"]) for s in added["segments"]][1:] == [
        ("insert", "park"),
        ("equal", " nearby."),
    ]
    assert "".join(s["text"] for s in added["segments"]) == added["text"]


def test_diff_defaults_to_the_latest_change(client: TestClient, edited: dict[str, Any]) -> None:
    diff = client.get(f"/api/prompts/{edited['id']}/diff").json()
    assert (diff["from_version"], diff["to_version"]) == (2, 3)
    assert diff["changes"] == []
    only_to = client.get(f"/api/prompts/{edited['id']}/diff", params={"to": 2}).json()
    assert (only_to["from_version"], only_to["to_version"]) == (1, 2)


def test_diff_of_a_single_version_is_empty(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt()
    diff = client.get(f"/api/prompts/{prompt['id']}/diff").json()
    assert (diff["from_version"], diff["to_version"], diff["changes"]) == (1, 1, [])
    assert {line["op"] for line in diff["lines"]} == {" "}


@pytest.mark.parametrize(("params", "status"), [({"from": 9}, 404), ({"to": 0}, 422), ({"from": "a"}, 422)])
def test_diff_refuses_missing_or_invalid_versions(
    client: TestClient, edited: dict[str, Any], params: dict[str, Any], status: int
) -> None:
    assert client.get(f"/api/prompts/{edited['id']}/diff", params=params).status_code == status


def test_restore_makes_a_new_version(alice: ApiUser, edited: dict[str, Any]) -> None:
    response = alice.post(f"/api/prompts/{edited['id']}/versions/1/restore")
    assert response.status_code == 200
    restored = response.json()
    assert restored["version"] == 4
    assert (restored["title"], restored["body"]) == ("First", "line one\nline two")
    history = alice.get(f"/api/prompts/{edited['id']}/versions").json()
    assert [v["version"] for v in history] == [4, 3, 2, 1]  # nothing rewritten


def test_restore_the_current_content_adds_no_version(alice: ApiUser, edited: dict[str, Any]) -> None:
    assert alice.post(f"/api/prompts/{edited['id']}/versions/3/restore").json()["version"] == 3


def test_restore_is_for_the_owner(client: TestClient, bob: ApiUser, edited: dict[str, Any]) -> None:
    assert bob.post(f"/api/prompts/{edited['id']}/versions/1/restore").status_code == 403
    assert client.post(f"/api/prompts/{edited['id']}/versions/1/restore").status_code == 401
    assert client.get(f"/api/prompts/{edited['id']}").json()["version"] == 3


def test_restore_a_missing_version(alice: ApiUser, edited: dict[str, Any]) -> None:
    assert alice.post(f"/api/prompts/{edited['id']}/versions/9/restore").status_code == 404
    assert alice.post("/api/prompts/999/versions/1/restore").status_code == 404


@pytest.fixture
def published_later(alice: ApiUser) -> dict[str, Any]:
    """A prompt of alice's saved private with a secret (version 1), then made public without it."""
    prompt = alice.create_prompt(title="Plan", body="the secret is 42", visibility="private")
    return alice.patch(
        f"/api/prompts/{prompt['id']}", json={"body": "nothing to see", "visibility": "public"}
    ).json()


def _others(client: TestClient, bob: ApiUser) -> list[Any]:
    """An anonymous caller and another logged-in user."""
    return [client, bob]


def test_a_version_saved_private_stays_private_through_every_route(
    client: TestClient, bob: ApiUser, alice: ApiUser, published_later: dict[str, Any]
) -> None:
    base = f"/api/prompts/{published_later['id']}"
    for caller in _others(client, bob):
        listed = caller.get(f"{base}/versions")
        assert listed.status_code == 200
        assert [v["version"] for v in listed.json()] == [2]
        for url in (f"{base}/versions/1", f"{base}/diff?from=1&to=2", f"{base}/diff?from=2&to=1"):
            response = caller.get(url)
            assert response.status_code == 404, url
            assert "secret" not in response.text
        # By default a diff compares with the latest earlier version the caller may see.
        default = caller.get(f"{base}/diff").json()
        assert (default["from_version"], default["to_version"]) == (2, 2)
        assert "secret" not in str(default)
    assert [v["version"] for v in alice.get(f"{base}/versions").json()] == [2, 1]
    assert alice.get(f"{base}/versions/1").json()["body"] == "the secret is 42"
    assert alice.get(f"{base}/diff").json()["from_version"] == 1


def test_restoring_an_old_public_version_keeps_the_prompt_private(
    client: TestClient, bob: ApiUser, alice: ApiUser
) -> None:
    prompt = alice.create_prompt(title="Open", body="public words")
    alice.patch(f"/api/prompts/{prompt['id']}", json={"visibility": "private", "body": "private words"})
    restored = alice.post(f"/api/prompts/{prompt['id']}/versions/1/restore").json()
    assert (restored["version"], restored["body"], restored["visibility"]) == (3, "public words", "private")
    for caller in _others(client, bob):
        for url in ("", "/versions", "/versions/1", "/versions/3", "/diff"):
            assert caller.get(f"/api/prompts/{prompt['id']}{url}").status_code == 404, url


def test_a_diff_flags_a_coarse_comparison(client: TestClient, alice: ApiUser) -> None:
    prompt = alice.create_prompt(body="".join(f"x{k}\nc\n" for k in range(5000)))
    alice.patch(f"/api/prompts/{prompt['id']}", json={"body": "".join(f"y{k}\nc\n" for k in range(5000))})
    diff = client.get(f"/api/prompts/{prompt['id']}/diff").json()
    assert diff["exact"] is False
    assert len(diff["lines"]) == 19999  # the last "c" is common to both
    assert diff["lines"][-1] == {"op": " ", "text": "c"}
    assert diff["words_exact"] is False  # 5,000 pairs "xK"/"yK": more than the word budget covers
    small = alice.create_prompt(body="one\ntwo")
    alice.patch(f"/api/prompts/{small['id']}", json={"body": "one\n2"})
    assert client.get(f"/api/prompts/{small['id']}/diff").json()["exact"] is True


def test_past_the_word_budget_changed_lines_come_without_segments(client: TestClient, alice: ApiUser) -> None:
    # Unique unchanged lines in between keep the line diff exact: 2,500 pairs of one line.
    prompt = alice.create_prompt(body="".join(f"u{k}\nline {k} old\n" for k in range(2500)))
    new_body = "".join(f"u{k}\nline {k} new\n" for k in range(2500))
    alice.patch(f"/api/prompts/{prompt['id']}", json={"body": new_body})
    diff = client.get(f"/api/prompts/{prompt['id']}/diff").json()
    assert (diff["exact"], diff["words_exact"]) == (True, False)
    marked = [line for line in diff["lines"] if "segments" in line]
    assert 0 < len(marked) < 5000
    assert "segments" not in diff["lines"][-1]
    assert marked[0]["segments"] == [{"op": "equal", "text": "line 0 "}, {"op": "delete", "text": "old"}]
