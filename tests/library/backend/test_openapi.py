"""The OpenAPI document describes the API fully: limits, auth, every status an endpoint answers."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from composite.library.backend.routes import (
    forks,
    health,
    labels,
    prompts,
    stars,
    tags,
    tokens,
    transfer,
    users,
    versions,
)

ROUTERS = (health, users, tokens, prompts, forks, versions, labels, stars, tags, transfer)
ROUTES = [route for module in ROUTERS for route in module.router.routes if isinstance(route, APIRoute)]
PROTECTED = {
    ("get", "/api/tokens"),
    ("delete", "/api/tokens/{token_id}"),
    ("post", "/api/prompts"),
    ("post", "/api/prompts/bulk"),
    ("patch", "/api/prompts/{prompt_id}"),
    ("delete", "/api/prompts/{prompt_id}"),
    ("post", "/api/prompts/{prompt_id}/versions/{version}/restore"),
    ("put", "/api/prompts/{prompt_id}/labels/{name}"),
    ("delete", "/api/prompts/{prompt_id}/labels/{name}"),
    ("put", "/api/prompts/{prompt_id}/star"),
    ("delete", "/api/prompts/{prompt_id}/star"),
    ("post", "/api/prompts/{prompt_id}/fork"),
    ("get", "/api/users/{username}/stars"),
    ("get", "/api/export"),
    ("post", "/api/import"),
    ("put", "/api/password"),
}
OPTIONAL = {
    ("get", "/api/prompts"),
    ("get", "/api/prompts/{prompt_id}"),
    ("get", "/api/prompts/{prompt_id}/versions"),
    ("get", "/api/prompts/{prompt_id}/versions/{version}"),
    ("get", "/api/prompts/{prompt_id}/diff"),
}


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    """The served OpenAPI document."""
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Every (method, path, operation) of the document."""
    return [(method, path, op) for path, item in schema["paths"].items() for method, op in item.items()]


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{sorted(route.methods)[0]} {route.path}")
def test_endpoints_run_in_the_thread_pool_and_are_documented(route: APIRoute) -> None:
    # DuckDB calls block: an async endpoint would run them on the event loop. The health
    # check only awaits the probe, which runs its query in the pool (composite/db/probe.py).
    assert inspect.iscoroutinefunction(route.endpoint) == (route.endpoint is health.read_health)
    doc = inspect.getdoc(route.endpoint)
    assert doc
    assert len(doc.splitlines()) == 1


def test_every_operation_is_described(schema: dict[str, Any]) -> None:
    assert len(operations(schema)) == 26
    for method, path, op in operations(schema):
        assert op.get("description"), (method, path)


def test_auth_is_documented_as_required_or_optional(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from POST /api/tokens, sent as 'Authorization: Bearer <token>'",
    }
    for method, path, op in operations(schema):
        security = op.get("security")
        if (method, path) in PROTECTED:
            assert security == [{"HTTPBearer": []}], (method, path)
            assert "401" in op["responses"], (method, path)
        elif (method, path) in OPTIONAL:
            assert security == [{"HTTPBearer": []}, {}], (method, path)
            assert "401" in op["responses"], (method, path)
        else:
            assert security is None, (method, path)


def test_error_statuses_are_documented_with_their_shapes(schema: dict[str, Any]) -> None:
    expected = {
        ("post", "/api/users"): {"201", "400", "409", "422", "429", "503"},
        ("post", "/api/tokens"): {"201", "400", "401", "409", "422", "429", "503"},
        ("patch", "/api/prompts/{prompt_id}"): {"200", "400", "401", "403", "404", "422"},
        ("delete", "/api/prompts/{prompt_id}"): {"204", "401", "403", "404", "422"},
        ("post", "/api/prompts/bulk"): {"200", "400", "401", "422", "503"},
        ("get", "/api/tags"): {"200", "422"},
        ("get", "/api/prompts/{prompt_id}"): {"200", "304", "401", "404", "422"},
        ("get", "/api/prompts/{prompt_id}/versions"): {"200", "304", "401", "404", "422"},
        ("get", "/api/prompts/{prompt_id}/versions/{version}"): {"200", "304", "401", "404", "422"},
        ("put", "/api/prompts/{prompt_id}/labels/{name}"): {"200", "201", "401", "403", "404", "409", "422"},
        ("delete", "/api/prompts/{prompt_id}/labels/{name}"): {"204", "401", "403", "404", "422"},
        ("get", "/api/export"): {"200", "401", "422"},
        ("post", "/api/prompts/{prompt_id}/fork"): {"201", "401", "404", "409", "422"},
        ("get", "/api/users/{username}/stars"): {"200", "401", "403", "422"},
    }
    for (method, path), statuses in expected.items():
        assert set(schema["paths"][path][method]["responses"]) == statuses, (method, path)
    for _, _, op in operations(schema):
        for status, response in op["responses"].items():
            if status in {"400", "401", "403", "404", "409", "429"}:
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorOut"
                }
            if status == "422":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ValidationErrorOut"
                }
            if status in {"204", "304"}:
                assert "content" not in response
            if status == "304":
                assert {"ETag", "Cache-Control"} <= set(response["headers"])
    forked = schema["paths"]["/api/prompts/{prompt_id}/fork"]["post"]["responses"]["201"]
    assert "Location" in forked["headers"]
    for path in ("/api/users", "/api/tokens"):
        for status in ("429", "503"):
            assert "Retry-After" in schema["paths"][path]["post"]["responses"][status]["headers"]


def test_the_limits_are_documented(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    user = components["UserCreate"]["properties"]
    assert (user["username"]["minLength"], user["username"]["maxLength"]) == (3, 32)
    assert user["username"]["pattern"] == "^[A-Za-z0-9_.-]{3,32}$"
    assert user["password"]["minLength"] == 8
    prompt = components["PromptCreate"]["properties"]
    assert (prompt["title"]["minLength"], prompt["title"]["maxLength"]) == (1, 200)
    assert (prompt["body"]["minLength"], prompt["body"]["maxLength"]) == (1, 50_000)
    assert prompt["tags"]["maxItems"] == 10
    assert (prompt["tags"]["items"]["minLength"], prompt["tags"]["items"]["maxLength"]) == (1, 32)
    assert prompt["visibility"]["enum"] == ["public", "private"]
    prompt_id = schema["paths"]["/api/prompts/{prompt_id}"]["get"]["parameters"][0]["schema"]
    assert (prompt_id["minimum"], prompt_id["maximum"]) == (1, 2**63 - 1)
    name = schema["paths"]["/api/prompts/{prompt_id}/labels/{name}"]["put"]["parameters"][1]["schema"]
    assert (name["minLength"], name["maxLength"], name["pattern"]) == (1, 32, "^[a-z0-9-]{1,32}$")
    version = components["LabelSet"]["properties"]["version"]
    assert (version["minimum"], version["maximum"]) == (1, 2**31 - 1)


def test_docs_are_served(client: TestClient) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert "/api/openapi.json" in response.text


def test_the_word_level_diff_is_documented(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    line = components["DiffLineOut"]
    assert set(line["required"]) == {"op", "text"}  # segments is an addition: clients may ignore it
    assert "word by word" in line["properties"]["segments"]["description"]
    assert components["DiffSegmentOut"]["properties"]["op"]["enum"] == ["equal", "delete", "insert"]
    assert "words_exact" in components["DiffOut"]["required"]
