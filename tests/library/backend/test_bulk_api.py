"""POST /api/prompts/bulk: one action on many of the caller's prompts, answered prompt by prompt."""

from __future__ import annotations

from typing import Any

from composite.library.bulk import BULK_MAX


def outcomes(answer: dict[str, Any]) -> dict[int, str]:
    """Each prompt's outcome by id."""
    return {item["id"]: item["outcome"] for item in answer["prompts"]}


def test_each_action_in_one_request(alice, bob) -> None:
    ids = [
        alice.create_prompt(title=f"Walrus {n}", visibility="private", tags=["sea"])["id"] for n in range(3)
    ]
    steps = [
        ("make_public", None, "changed", lambda p: p["visibility"] == "public"),
        ("add_tag", "Arctic Life", "changed", lambda p: p["tags"] == ["sea", "arctic-life"]),
        ("remove_tag", "sea", "changed", lambda p: p["tags"] == ["arctic-life"]),
        ("make_private", None, "changed", lambda p: p["visibility"] == "private"),
    ]
    for version, (action, tag, outcome, check) in enumerate(steps, start=2):
        response = alice.post("/api/prompts/bulk", json={"ids": ids, "action": action, "tag": tag})
        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer[outcome], answer["not_found"]) == (3, 0)
        assert outcomes(answer) == dict.fromkeys(ids, outcome)
        for prompt_id in ids:
            prompt = alice.get(f"/api/prompts/{prompt_id}").json()
            assert check(prompt), (action, prompt)
            assert prompt["version"] == version  # each change a version, as an edit makes
    assert [v["version"] for v in alice.get(f"/api/prompts/{ids[0]}/versions").json()] == [5, 4, 3, 2, 1]

    response = alice.post("/api/prompts/bulk", json={"ids": ids, "action": "delete"})
    assert response.json()["deleted"] == 3
    assert all(alice.get(f"/api/prompts/{i}").status_code == 404 for i in ids)


def test_another_users_prompts_are_not_found_and_untouched(alice, bob) -> None:
    mine = alice.create_prompt()["id"]
    theirs = bob.create_prompt(tags=["keep"])["id"]
    for action in ("make_private", "delete"):
        response = alice.post("/api/prompts/bulk", json={"ids": [theirs, mine, 10**12], "action": action})
        assert response.status_code == 200
        assert outcomes(response.json())[theirs] == outcomes(response.json())[10**12] == "not_found"
    prompt = bob.get(f"/api/prompts/{theirs}").json()
    assert (prompt["visibility"], prompt["version"]) == ("public", 1)


def test_the_search_reflects_a_removed_tag(alice, client) -> None:
    ids = [alice.create_prompt(title=f"Plain {n}", tags=["zebrafish"])["id"] for n in range(2)]
    assert client.get("/api/prompts", params={"q": "zebrafish"}).json()["total"] == 2
    alice.post("/api/prompts/bulk", json={"ids": ids, "action": "remove_tag", "tag": "zebrafish"})
    assert client.get("/api/prompts", params={"q": "zebrafish"}).json()["total"] == 0
    assert client.get("/api/prompts", params={"tag": "zebrafish"}).json()["total"] == 0


def test_requests_refused_whole(alice, client) -> None:
    prompt_id = alice.create_prompt()["id"]
    refused = [
        ({"ids": list(range(1, BULK_MAX + 2)), "action": "delete"}, "ids"),
        ({"ids": [], "action": "delete"}, "ids"),
        ({"ids": [prompt_id], "action": "publish"}, "action"),
        ({"ids": [prompt_id], "action": "add_tag"}, "tag"),
        ({"ids": [prompt_id], "action": "add_tag", "tag": "not a tag!"}, "tag"),
        ({"ids": [0], "action": "delete"}, "ids"),
    ]
    for body, field in refused:
        response = alice.post("/api/prompts/bulk", json=body)
        assert response.status_code == 422, body
        assert field in {str(part) for issue in response.json()["detail"] for part in issue["loc"]}, body
    assert client.post("/api/prompts/bulk", json={"ids": [prompt_id], "action": "delete"}).status_code == 401
    assert alice.get(f"/api/prompts/{prompt_id}").json()["version"] == 1


def test_a_prompt_at_its_tag_bound_is_refused_alone(alice) -> None:
    full = alice.create_prompt(tags=[f"t{n}" for n in range(10)])["id"]
    roomy = alice.create_prompt()["id"]
    answer = alice.post(
        "/api/prompts/bulk", json={"ids": [full, roomy], "action": "add_tag", "tag": "x"}
    ).json()
    assert answer["prompts"] == [
        {"id": full, "outcome": "refused", "reason": "at most 10 tags"},
        {"id": roomy, "outcome": "changed", "reason": None},
    ]
    assert (answer["tag"], answer["refused"], answer["changed"]) == ("x", 1, 1)


def test_the_route_is_documented(client) -> None:
    operation = client.get("/api/openapi.json").json()["paths"]["/api/prompts/bulk"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert set(operation["responses"]) == {"200", "400", "401", "422", "503"}
    body = client.get("/api/openapi.json").json()["components"]["schemas"]["BulkAction"]["properties"]
    assert body["ids"]["maxItems"] == BULK_MAX
    assert body["action"]["enum"] == ["make_public", "make_private", "add_tag", "remove_tag", "delete"]
