"""The search syntax through the API's q: phrases, exclusions and the filters, as the site reads them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.library.backend.conftest import ApiUser


def found(viewer: Any, q: str, **params: Any) -> set[int]:
    response = viewer.get("/api/prompts", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_phrases_exclusions_and_filters_in_q(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    side_by_side = alice.create_prompt(title="Quokka shell", body="Act as a linux terminal.", tags=["shell"])
    apart = bob.create_prompt(title="Quokka notes", body="A terminal for linux users, on windows too.")
    assert found(client, "quokka linux terminal") == {side_by_side["id"], apart["id"]}
    assert found(client, 'quokka "linux terminal"') == {side_by_side["id"]}
    assert found(client, "quokka -windows") == {side_by_side["id"]}
    assert found(client, "quokka tag:shell") == {side_by_side["id"]}
    assert found(client, "quokka author:bob") == {apart["id"]}
    assert found(client, "quokka tag:shell", tag="other") == set()  # both must hold


def test_is_starred_is_the_callers_own_stars(client: TestClient, alice: ApiUser, bob: ApiUser) -> None:
    first = alice.create_prompt(title="Numbat one", body="numbat")
    alice.create_prompt(title="Numbat two", body="numbat")
    assert bob.put(f"/api/prompts/{first['id']}/star").status_code == 200
    assert found(bob, "numbat is:starred") == {first["id"]}
    assert found(alice, "numbat is:starred") == set()  # alice starred nothing
    assert bob.delete(f"/api/prompts/{first['id']}/star").status_code == 200
    assert found(bob, "numbat is:starred") == set()  # the next request sees the unstar
    anonymous = client.get("/api/prompts", params={"q": "numbat is:starred"})
    assert anonymous.status_code == 200
    assert anonymous.json()["items"] == []
    assert "sign in" in (anonymous.json().get("notice") or "").lower()


def test_the_syntax_is_documented_on_q(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    [q] = [p for p in spec["paths"]["/api/prompts"]["get"]["parameters"] if p["name"] == "q"]
    assert "is:starred" in q["description"]
    assert '"exact phrases"' in q["description"]
