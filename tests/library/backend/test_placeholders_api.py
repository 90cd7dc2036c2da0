"""Placeholders in the API: each prompt lists its fields with their defaults."""

from __future__ import annotations

from fastapi.testclient import TestClient

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
