"""Placeholders in the API: each prompt lists its fields with their defaults."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from composite.library import placeholders as placeholders_module
from tests.library.backend.conftest import ApiUser

BODY = """Act as a ${Position:Software Developer} for {{ company name }}.
Answer in ${Language:English}, and keep `${not_this}` and ${{ secrets.TOKEN }} as they are.

${Position}

{{notes}}
"""


def test_a_prompt_lists_its_placeholders_with_their_defaults(alice: ApiUser, client: TestClient) -> None:
    created = alice.create_prompt(body=BODY)
    expected = [
        {"name": "Position", "default": "Software Developer", "multiline": True},  # alone on a line later
        {"name": "company name", "default": "", "multiline": False},
        {"name": "Language", "default": "English", "multiline": False},
        {"name": "notes", "default": "", "multiline": True},
    ]
    assert created["placeholders"] == expected
    read = client.get(f"/api/prompts/{created['id']}")
    assert read.status_code == 200
    assert read.json()["placeholders"] == expected
    listed = client.get("/api/prompts").json()["items"]
    assert [item["placeholders"] for item in listed if item["id"] == created["id"]] == [expected]


def test_a_prompt_without_placeholders_lists_none(alice: ApiUser, client: TestClient) -> None:
    created = alice.create_prompt(body="Use {{ x | upper }} and `{{code}}` in:\n```\n{{fenced}}\n```")
    assert client.get(f"/api/prompts/{created['id']}").json()["placeholders"] == []


def test_the_schema_documents_the_placeholder_fields(client: TestClient) -> None:
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    placeholder = schemas["PlaceholderOut"]
    assert set(placeholder["properties"]) == {"name", "default", "multiline"}
    assert all(field.get("description") for field in placeholder["properties"].values())
    assert schemas["PromptOut"]["properties"]["placeholders"]["items"] == {
        "$ref": "#/components/schemas/PlaceholderOut"
    }


def test_listing_prompts_of_the_costliest_bodies_is_bounded(alice: ApiUser, client: TestClient) -> None:
    # 8,000 uses each on a line of its own after a backtick: the costliest body to parse
    # (about 10 ms); each body differs, so nothing is shared between them.
    for i in range(20):
        alice.create_prompt(body=f"`{i}\n" + "{{a}}\n" * 8_000)
    placeholders_module._cache.clear()  # as after a restart
    started = time.process_time()
    cold = client.get("/api/prompts", params={"limit": 100})
    cold_cpu = time.process_time() - started
    started = time.process_time()
    warm = client.get("/api/prompts", params={"limit": 100})
    warm_cpu = time.process_time() - started
    print(f"\n20 costliest bodies listed: {cold_cpu * 1000:.0f} ms CPU cold, {warm_cpu * 1000:.0f} ms warm")
    assert cold.status_code == warm.status_code == 200
    assert cold.json() == warm.json()
    assert cold_cpu < 5.0  # generous: about 0.2 s here
    assert warm_cpu < cold_cpu
