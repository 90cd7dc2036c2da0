"""ETags on prompt GETs: stable while nothing changes, new after any change, 304 with no body."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser


@pytest.fixture
def prompt(alice: ApiUser) -> dict[str, Any]:
    """A public prompt of alice's at version 2, labelled production at version 1."""
    created = alice.create_prompt(title="Greeter", body="Hello, version 1.")
    alice.patch(f"/api/prompts/{created['id']}", json={"body": "Hello, version 2."})
    assert (
        alice.put(f"/api/prompts/{created['id']}/labels/production", json={"version": 1}).status_code == 201
    )
    return created


def urls(prompt: dict[str, Any]) -> list[str]:
    """Every GET that carries an ETag."""
    base = f"/api/prompts/{prompt['id']}"
    return [base, f"{base}?label=production", f"{base}/versions", f"{base}/versions/1"]


def tags(client: Any, prompt: dict[str, Any]) -> list[str]:
    """The ETag of each GET."""
    answers = [client.get(url) for url in urls(prompt)]
    assert all(answer.status_code == 200 for answer in answers)
    return [answer.headers["etag"] for answer in answers]


def test_every_prompt_get_carries_a_weak_etag_public_only_when_anonymous(
    client: TestClient, alice: ApiUser, prompt: dict[str, Any]
) -> None:
    for url in urls(prompt):
        answer = client.get(url)
        assert answer.headers["etag"].startswith('W/"'), url
        # The same for every anonymous caller: a shared cache may keep it (and revalidate).
        assert answer.headers["cache-control"] == "public, no-cache"
        own = alice.get(url)
        assert own.headers["cache-control"] == "private, no-cache"
        assert own.headers["etag"] != answer.headers["etag"]  # per viewer
    assert len(set(tags(client, prompt))) == 4


def test_a_matching_if_none_match_gets_304_with_no_body(client: TestClient, prompt: dict[str, Any]) -> None:
    for url in urls(prompt):
        tag = client.get(url).headers["etag"]
        strong = tag.removeprefix("W/")
        for header in (tag, strong, f'"stale", {tag}', f'W/"a",{strong} , W/"b"', "*"):
            answer = client.get(url, headers={"If-None-Match": header})
            assert answer.status_code == 304, (url, header)
            assert answer.content == b""
            assert "content-length" not in answer.headers or answer.headers["content-length"] == "0"
            assert (answer.headers["etag"], answer.headers["cache-control"]) == (tag, "public, no-cache")
        for header in ('"stale"', 'W/"stale", "older"', tag[:-2] + '"', "nonsense"):
            assert client.get(url, headers={"If-None-Match": header}).status_code == 200, (url, header)


def test_the_etag_is_stable_until_an_edit_a_star_or_a_label_move(
    client: TestClient, alice: ApiUser, bob: ApiUser, prompt: dict[str, Any]
) -> None:
    base = f"/api/prompts/{prompt['id']}"
    history = [tags(client, prompt)]
    assert tags(client, prompt) == history[0]
    alice.patch(base, json={"title": "Greeter, edited"})
    history.append(tags(client, prompt))
    bob.put(f"{base}/star")
    history.append(tags(client, prompt))
    alice.put(f"{base}/labels/production", json={"version": 2})
    history.append(tags(client, prompt))
    assert tags(client, prompt) == history[-1]
    for before, after in itertools.pairwise(history):
        for url, old, new in zip(urls(prompt), before, after, strict=True):
            assert old != new, url
    # A client polling its production prompt sees the move as a new answer, then 304s again.
    labelled = f"{base}?label=production"
    moved = client.get(labelled, headers={"If-None-Match": history[-2][1]})
    assert (moved.status_code, moved.json()["version"]) == (200, 2)
    assert client.get(labelled, headers={"If-None-Match": moved.headers["etag"]}).status_code == 304


def test_a_change_that_changes_nothing_keeps_the_etag(
    alice: ApiUser, client: TestClient, prompt: dict[str, Any]
) -> None:
    before = tags(client, prompt)
    alice.patch(f"/api/prompts/{prompt['id']}", json={"title": "Greeter"})  # the same title
    alice.put(f"/api/prompts/{prompt['id']}/labels/production", json={"version": 1})  # where it is
    assert tags(client, prompt) == before


def test_viewers_get_different_etags(
    client: TestClient, alice: ApiUser, bob: ApiUser, prompt: dict[str, Any]
) -> None:
    # The owner sees more (labels on versions saved while private): no viewer's copy is another's.
    mine, bobs, anyones = tags(alice, prompt), tags(bob, prompt), tags(client, prompt)
    assert not set(mine) & set(bobs)
    assert not set(bobs) & set(anyones)
    assert not set(mine) & set(anyones)
    for url, tag in zip(urls(prompt), mine, strict=True):
        assert bob.get(url, headers={"If-None-Match": tag}).status_code == 200


def test_errors_come_before_304(
    client: TestClient, bob: ApiUser, alice: ApiUser, prompt: dict[str, Any]
) -> None:
    base = f"/api/prompts/{prompt['id']}"
    tag = alice.get(base).headers["etag"]
    alice.patch(base, json={"visibility": "private"})
    # Made private: others are told it does not exist, whatever they send.
    assert bob.get(base, headers={"If-None-Match": "*"}).status_code == 404
    assert client.get(f"{base}?label=nope", headers={"If-None-Match": "*"}).status_code == 404
    assert alice.get(f"{base}?label=nope", headers={"If-None-Match": "*"}).status_code == 404
    assert alice.get(f"{base}/versions/9", headers={"If-None-Match": "*"}).status_code == 404
    assert alice.get(base, headers={"If-None-Match": tag}).status_code == 200  # it changed
    # And an ETag never leaks into an error.
    assert "etag" not in bob.get(base).headers
