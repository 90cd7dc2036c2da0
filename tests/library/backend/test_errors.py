"""Bad input and bad credentials get a clear 4xx in the API's shape, never a 5xx."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from composite.db import Database
from tests.library.backend.conftest import ApiUser

# Every endpoint that needs a token, with a body where it needs one.
PROTECTED = [
    ("GET", "/api/tokens", None),
    ("DELETE", "/api/tokens/1", None),
    ("POST", "/api/prompts", {"title": "t", "body": "b"}),
    ("PATCH", "/api/prompts/1", {"title": "t"}),
    ("DELETE", "/api/prompts/1", None),
    ("POST", "/api/prompts/1/versions/1/restore", None),
    ("PUT", "/api/prompts/1/star", None),
    ("DELETE", "/api/prompts/1/star", None),
    ("GET", "/api/export", None),
    ("POST", "/api/import", {"format": "allucanget-prompts", "prompts": []}),
]
# Endpoints where a token is optional: a bad one is still refused.
OPTIONAL = [
    "/api/prompts",
    "/api/prompts/1",
    "/api/prompts/1/versions",
    "/api/prompts/1/versions/1",
    "/api/prompts/1/diff",
]
BAD_AUTHORIZATION = [
    "Bearer pl_not-a-real-token",
    "Bearer not-even-the-prefix",
    "Bearer ",
    "Basic YWxpY2U6c2VjcmV0",
    "pl_token-without-a-scheme",
]


@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
def test_protected_endpoints_refuse_a_missing_token(
    client: TestClient, alice: ApiUser, method: str, url: str, body: object
) -> None:
    alice.create_prompt()
    response = client.request(method, url, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
@pytest.mark.parametrize(("method", "url", "body"), PROTECTED)
def test_protected_endpoints_refuse_a_bad_token(
    client: TestClient, alice: ApiUser, method: str, url: str, body: object, authorization: str
) -> None:
    alice.create_prompt()
    response = client.request(method, url, json=body, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
@pytest.mark.parametrize("url", OPTIONAL)
def test_optional_auth_endpoints_refuse_a_bad_token(
    client: TestClient, alice: ApiUser, url: str, authorization: str
) -> None:
    alice.create_prompt()
    assert client.get(url).status_code == 200
    assert client.get(url, headers={"Authorization": authorization}).status_code == 401


def test_a_revoked_token_is_refused(client: TestClient, alice: ApiUser) -> None:
    token_id = alice.get("/api/tokens").json()[0]["id"]
    assert alice.delete(f"/api/tokens/{token_id}").status_code == 204
    assert alice.get("/api/prompts").status_code == 401
    assert alice.get("/api/export").status_code == 401


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"username": "abc", ', "application/json", 422),  # truncated
        (b"not json at all", "application/json", 422),
        (b'{"username": "\xff\xfe", "password": "12345678"}', "application/json", 400),  # not UTF-8
        (b'{"username": "abc\\u0000", "password": "12345678"}', "application/json", 422),  # NUL
        (b'{"username": "ab\\ud800c", "password": "12345678"}', "application/json", 422),  # lone surrogate
        (b'{"username": 12345, "password": ["x"]}', "application/json", 422),  # wrong types
        (b'"a string"', "application/json", 422),
        (b"[" * 100_000, "application/json", 400),  # nested past the parser's depth
        (b'{"username": "' + b"9" * 5000 + b'"}', "application/json", 422),
        (b"username=abc&password=12345678", "application/x-www-form-urlencoded", 422),
        (b"", "application/json", 422),
    ],
)
def test_malformed_bodies_are_4xx(client: TestClient, content: bytes, content_type: str, status: int) -> None:
    response = client.post("/api/users", content=content, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_a_lone_surrogate_in_prompt_text_is_422(alice: ApiUser) -> None:
    content = b'{"title": "ok", "body": "bad \\udc00 text", "tags": ["\\ud800"]}'
    response = alice.post("/api/prompts", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert {tuple(issue["loc"]) for issue in response.json()["detail"]} == {
        ("body", "body"),
        ("body", "tags", 0),
    }


def test_validation_errors_do_not_echo_the_input(alice: ApiUser) -> None:
    response = alice.post("/api/prompts", json={"title": "t", "body": "x" * 50_001})
    assert response.status_code == 422
    assert set(response.json()["detail"][0]) == {"loc", "msg", "type"}
    assert len(response.content) < 1000


def test_domain_rules_are_reported_like_schema_errors(alice: ApiUser) -> None:
    # Passes the schema (a tag may be upper case) but the domain de-duplicates then
    # counts: the message comes from the shared rules.
    response = alice.post("/api/prompts", json={"title": "t", "body": "b", "tags": ["a"] * 10 + ["b"]})
    assert response.status_code == 422
    response = alice.post("/api/prompts", json={"title": "\x1c", "body": "b"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "title"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/prompts/99999999999999999999999",
        "/api/prompts/-0",
        "/api/prompts/1e3",
        "/api/prompts/%00",
        "/api/prompts/1/versions/99999999999",
        "/api/users/%ff%fe",
        "/api/users/" + "a" * 10_000,
        "/api/prompts?q=" + "a" * 10_000,
        "/api/prompts?tag=%00",
        "/api/prompts?author=%00",
        "/api/prompts?limit=99999999999999999999999",
        "/api/prompts?offset=99999999999999999999999",
        "/api/prompts/1/diff?from=99999999999999999999",
    ],
)
def test_hostile_paths_and_queries_are_4xx(client: TestClient, alice: ApiUser, url: str) -> None:
    alice.create_prompt()
    response = client.get(url)
    assert 400 <= response.status_code < 500, response.text
    assert "detail" in response.json()


def test_invalid_utf8_in_the_query_is_read_as_replacement_characters(client: TestClient) -> None:
    response = client.get("/api/prompts?q=" + "%ff" * 100 + "&author=%ff%fe")
    assert response.status_code in (200, 422)
    assert response.headers["content-type"] == "application/json"


def test_unknown_method_is_405_listing_every_method_of_the_resource(client: TestClient) -> None:
    response = client.request("OPTIONS", "/api/prompts/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert client.put("/api/tokens").headers["allow"] == "GET, POST"


def test_unknown_path_is_404_in_json(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_database_gone_is_503_not_500(client: TestClient, db: Database, alice: ApiUser) -> None:
    db.close()
    response = client.get("/api/prompts")
    assert response.status_code == 503
    assert "detail" in response.json()
