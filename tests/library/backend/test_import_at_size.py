"""Imports of a realistic collection of 1,500 prompts through the API: JSON and CSV, item by item."""

from __future__ import annotations

from typing import Any

from composite.db import Database
from tests.library.backend.conftest import ApiUser
from tests.support import corpus

CONTENT = ("title", "body", "description", "tags", "visibility")


def content(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The prompts of an export as comparable content, in title order."""
    return sorted(tuple(p[field] for field in CONTENT) for p in document["prompts"])


def test_a_json_import_of_1500_prompts_reports_each_and_an_export_reimports_identically(
    alice: ApiUser, bob: ApiUser, db: Database
) -> None:
    items = corpus.prompts(1500)
    bad = {7: {"title": "", "body": "x"}, 700: {"title": "t", "body": "b", "uid": "nope"}, 1499: "text"}
    document = corpus.export_document([bad.get(n, item) for n, item in enumerate(items)])
    db.lock_holds.reset()
    response = alice.post("/api/import", json=document)
    assert response.status_code == 200, response.text[:500]
    answer = response.json()
    assert (answer["created"], answer["updated"], answer["unchanged"], answer["refused"]) == (1497, 0, 0, 3)
    refused = [(i["index"], i["reason"]) for i in answer["prompts"] if i["outcome"] == "refused"]
    assert refused == [
        (7, "title: must be 1-200 characters"),
        (700, "uid: must be a UUID"),
        (1499, "item: must be an object"),
    ]
    # Batches, each holding the write lock briefly (CPU time: wall time stretches on a busy machine).
    assert db.lock_holds.count >= 10
    assert db.lock_holds.longest_cpu < 0.25

    exported = alice.get("/api/export").json()
    assert len(exported["prompts"]) == 1497
    kept = [item for n, item in enumerate(items) if n not in bad]
    assert content(exported) == content({"prompts": kept})  # what was sent is what is stored
    # Into the same account: nothing changes. Into another: identical prompts.
    again = alice.post("/api/import", json=exported).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1497)
    copied = bob.post("/api/import", json=exported).json()
    assert copied["created"] == 1497
    assert content(bob.get("/api/export").json()) == content(exported)


def test_a_csv_import_of_1500_prompts_reports_refused_rows_by_their_number(alice: ApiUser) -> None:
    items = corpus.prompts(1500, seed=3)
    items[10] = {**items[10], "tags": ["ok", "not/a/tag"]}  # row 12: the header is row 1
    items[999] = {**items[999], "visibility": "secret"}  # row 1001
    data = corpus.csv_bytes(items, style="act")
    assert len(data) > 4_000_000
    response = alice.post("/api/import", content=data, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text[:500]
    answer = response.json()
    assert (answer["created"], answer["refused"]) == (1498, 2)
    refused = [(i["row"], i["reason"]) for i in answer["prompts"] if i["outcome"] == "refused"]
    assert refused == [
        (12, "tags: 'not/a/tag' is not a tag: use 1-32 of a-z, 0-9, '-' and spaces"),
        (1001, "visibility: must be 'public' or 'private'"),
    ]
    assert [i["row"] for i in answer["prompts"]] == list(range(2, 1502))
    # The title/body layout of the same file matches every stored prompt by its content.
    same = corpus.csv_bytes(items, style="title")
    again = alice.post("/api/import", content=same, headers={"Content-Type": "text/csv"}).json()
    assert (again["created"], again["unchanged"], again["refused"]) == (0, 1498, 2)
    stored = {p["title"]: p for p in alice.get("/api/export").json()["prompts"]}
    for item in items[11:60]:
        assert stored[item["title"]]["body"] == item["body"]  # multi-line, Chinese, code: intact
