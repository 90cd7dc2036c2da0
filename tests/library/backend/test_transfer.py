"""Export and import: a round trip merges instead of duplicating."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from composite.library.transfer import IMPORT_RATE, MAX_IMPORT
from tests.library.backend.conftest import ApiUser


def counts(answer: dict[str, Any]) -> tuple[int, int, int]:
    """Prompts created, updated and unchanged, as an import answers."""
    return answer["created"], answer["updated"], answer["unchanged"]


def test_export_has_every_own_prompt_and_nothing_else(alice: ApiUser, bob: ApiUser) -> None:
    public = alice.create_prompt(title="Public", tags=["a"])
    private = alice.create_prompt(title="Private", visibility="private")
    bob.create_prompt(title="Bob's")
    response = alice.get("/api/export")
    assert response.status_code == 200
    document = response.json()
    assert (document["format"], document["version"], document["owner"]) == ("allucanget-prompts", 2, "alice")
    assert [p["uid"] for p in document["prompts"]] == [public["uid"], private["uid"]]
    assert document["prompts"][0]["tags"] == ["a"]
    assert document["prompts"][1]["visibility"] == "private"


def test_export_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/export").status_code == 401
    assert client.post("/api/import", json={"format": "allucanget-prompts", "prompts": []}).status_code == 401


def test_round_trip_merges_without_duplicates(alice: ApiUser) -> None:
    first = alice.create_prompt(title="One", body="Body one")
    alice.create_prompt(title="Two", body="Body two", visibility="private")
    document = alice.get("/api/export").json()

    response = alice.post("/api/import", json=document)
    assert response.status_code == 200
    assert counts(response.json()) == (0, 0, 2)

    document["prompts"][0]["title"] = "One, revised"
    document["prompts"].append({"title": "Three", "body": "Body three", "tags": ["New"]})
    answer = alice.post("/api/import", json=document).json()
    assert counts(answer) == (1, 1, 1)
    assert [(item["index"], item["outcome"]) for item in answer["prompts"]] == [
        (0, "updated"),
        (1, "unchanged"),
        (2, "created"),
    ]
    assert answer["prompts"][0]["id"] == first["id"]

    prompts = alice.get("/api/prompts").json()["items"]
    assert sorted(p["title"] for p in prompts) == ["One, revised", "Three", "Two"]
    revised = alice.get(f"/api/prompts/{first['id']}").json()
    assert (revised["title"], revised["version"]) == ("One, revised", 2)
    assert next(p for p in prompts if p["title"] == "Three")["tags"] == ["new"]


def test_import_into_another_account_copies(alice: ApiUser, bob: ApiUser) -> None:
    original = alice.create_prompt(title="Shared")
    document = alice.get("/api/export").json()
    assert counts(bob.post("/api/import", json=document).json()) == (1, 0, 0)
    copy = bob.get("/api/prompts", params={"author": "bob"}).json()["items"][0]
    assert copy["uid"] != original["uid"]
    assert copy["title"] == "Shared"
    assert alice.get(f"/api/prompts/{original['id']}").json()["version"] == 1  # alice's is untouched
    # A second import matches bob's copy by content rather than duplicating it.
    assert counts(bob.post("/api/import", json=document).json()) == (0, 0, 1)


@pytest.mark.parametrize(
    "document",
    [
        {"format": "something-else", "prompts": []},
        {"prompts": []},
        {"format": "allucanget-prompts", "prompts": "many"},
        {"format": "allucanget-prompts", "prompts": [{"title": "t", "body": "b"}] * (MAX_IMPORT + 1)},
        [],
    ],
)
def test_import_refuses_a_file_that_is_not_an_export_whole(alice: ApiUser, document: Any) -> None:
    response = alice.post("/api/import", json=document)
    assert response.status_code == 422
    assert alice.get("/api/prompts").json()["total"] == 0


def test_bad_items_are_refused_one_by_one_and_the_others_stored(alice: ApiUser) -> None:
    items = [
        {"title": "no body"},
        {"title": "t", "body": "b", "uid": "not-a-uuid"},
        {"title": "t", "body": "b", "tags": ["bad/tag"]},
        {"title": "Kept", "body": "b"},
        {"title": "", "body": "b"},
        {"title": "t", "body": "b", "tags": ["a"] * 11},
    ]
    response = alice.post("/api/import", json={"format": "allucanget-prompts", "prompts": items})
    assert response.status_code == 200
    answer = response.json()
    assert (answer["created"], answer["refused"]) == (1, 5)
    reasons = [(item["index"], item["outcome"], item["reason"]) for item in answer["prompts"]]
    assert reasons == [
        (0, "refused", "body: must be 1-50000 characters"),
        (1, "refused", "uid: must be a UUID"),
        (2, "refused", "tags: 'bad/tag' is not a tag: use 1-32 of a-z, 0-9, '-' and spaces"),
        (3, "created", None),
        (4, "refused", "title: must be 1-200 characters"),
        (5, "refused", "tags: at most 10 tags"),
    ]
    assert [p["title"] for p in alice.get("/api/prompts").json()["items"]] == ["Kept"]


def test_a_csv_import_reports_rows_by_their_number_in_the_file(alice: ApiUser) -> None:
    csv_text = (
        "\ufeffact,prompt,tags,contributor\n"
        '"Act as a Linux terminal","I want you to act as a Linux terminal.\nReply in one code block.",'
        '"shell, Command Line",ada\n'
        "\n"
        ",no title,,\n"
        "Act as a poet,Write a poem about ${Topic:the sea},,\n"
    )
    response = alice.post(
        "/api/import", content=csv_text.encode(), headers={"Content-Type": "text/csv; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(i["index"], i["row"], i["outcome"]) for i in answer["prompts"]] == [
        (0, 2, "created"),
        (1, 4, "refused"),
        (2, 5, "created"),
    ]
    assert answer["prompts"][1]["reason"] == "title: must be 1-200 characters"
    stored = {p["title"]: p for p in alice.get("/api/prompts").json()["items"]}
    assert stored["Act as a Linux terminal"]["tags"] == ["shell", "command-line"]
    assert stored["Act as a poet"]["body"] == "Write a poem about ${Topic:the sea}"


@pytest.mark.parametrize(
    ("content", "kind", "status", "detail"),
    [
        (b"title,body\n\xff\xfe,x\n", "text/csv", 422, "not UTF-8 text"),
        (b"name,text\na,b\n", "text/csv", 422, "needs a title and a body column"),
        (b"", "text/csv", 422, "the file is empty"),
        (b'"unclosed\n', "text/csv", 422, "not CSV"),
        (b"{}", "text/plain", 415, "application/json"),
    ],
)
def test_a_file_the_import_cannot_read_is_a_clear_4xx(
    alice: ApiUser, content: bytes, kind: str, status: int, detail: str
) -> None:
    response = alice.post("/api/import", content=content, headers={"Content-Type": kind})
    assert response.status_code == status, response.text
    assert detail in json.dumps(response.json()["detail"])
    assert alice.get("/api/prompts").json()["total"] == 0


def test_imports_over_the_budget_get_429_with_retry_after(alice: ApiUser) -> None:
    def document(n: int) -> dict:
        return {"format": "allucanget-prompts", "prompts": [{"title": "t", "body": f"b {n}"}]}

    for n in range(int(IMPORT_RATE.split("/")[0])):
        assert alice.post("/api/import", json=document(n)).json()["created"] == 1
    response = alice.post("/api/import", json=document(-1))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "too many imports" in response.json()["detail"]


def test_a_csv_sent_as_a_form_or_with_excels_type_is_read(alice: ApiUser) -> None:
    csv_bytes = b"title;body\r\nSemicolons;From a German Excel\r\n"
    as_form = alice.post(
        "/api/import", files={"file": ("prompts.csv", csv_bytes, "application/vnd.ms-excel")}
    )
    assert (as_form.status_code, as_form.json()["created"]) == (200, 1)
    typed = alice.post(
        "/api/import",
        content=b"title,body\nComma,From Windows\n",
        headers={"Content-Type": "application/vnd.ms-excel"},
    )
    assert (typed.status_code, typed.json()["created"]) == (200, 1)
    pdf = alice.post("/api/import", files={"file": ("prompts.pdf", b"%PDF-1.7\n...", "application/pdf")})
    assert pdf.status_code == 422
    assert pdf.json()["detail"][0]["msg"].startswith("this is a PDF; upload a .json export or a .csv file")
    no_file = alice.post("/api/import", data={"note": "no file"}, files={})
    assert no_file.status_code in (415, 422)


def test_an_import_may_publish_the_new_prompts(alice: ApiUser, client: TestClient) -> None:
    answer = alice.post(
        "/api/import?visibility=public",
        content=b"title,body\nOut loud,For everyone\n",
        headers={"Content-Type": "text/csv"},
    )
    prompt_id = answer.json()["prompts"][0]["id"]
    assert client.get(f"/api/prompts/{prompt_id}").json()["visibility"] == "public"  # anonymous sees it
    refused = alice.post(
        "/api/import?visibility=loud", content=b"title,body\na,b\n", headers={"Content-Type": "text/csv"}
    )
    assert refused.status_code == 422
