"""Idempotency-Key: a repeat gets the first answer without a second write; another request gets 422."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from composite.db import Database
from composite.library import idempotency, prompts
from tests.library.backend.conftest import ApiUser

NEW = {"title": "Once only", "body": "Say it once.", "visibility": "public"}


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def own_titles(user: ApiUser) -> list[str]:
    return [p["title"] for p in user.get("/api/prompts", params={"author": user.username}).json()["items"]]


def test_a_repeated_create_answers_the_first_answer_and_writes_once(alice: ApiUser) -> None:
    first = alice.post("/api/prompts", json=NEW, headers=keyed("create-1"))
    again = alice.post("/api/prompts", json=NEW, headers=keyed("create-1"))
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert own_titles(alice) == ["Once only"]


def test_the_sf_string_form_of_a_key_is_the_same_key(alice: ApiUser) -> None:
    first = alice.post("/api/prompts", json=NEW, headers=keyed("abc-1"))
    again = alice.post("/api/prompts", json=NEW, headers=keyed('"abc-1"'))
    assert again.content == first.content


def test_the_same_key_with_another_body_is_refused(alice: ApiUser) -> None:
    alice.post("/api/prompts", json=NEW, headers=keyed("k"))
    other = alice.post("/api/prompts", json={**NEW, "title": "Else"}, headers=keyed("k"))
    assert other.status_code == 422
    (issue,) = other.json()["detail"]
    assert issue["loc"] == ["header", "Idempotency-Key"]
    assert "different request" in issue["msg"]
    assert own_titles(alice) == ["Once only"]


def test_keys_are_per_user(alice: ApiUser, bob: ApiUser) -> None:
    assert alice.post("/api/prompts", json=NEW, headers=keyed("shared")).status_code == 201
    assert (
        bob.post("/api/prompts", json={**NEW, "title": "Bob's"}, headers=keyed("shared")).status_code == 201
    )
    assert own_titles(bob) == ["Bob's"]


def test_without_a_key_every_request_writes(alice: ApiUser) -> None:
    alice.post("/api/prompts", json=NEW)
    alice.post("/api/prompts", json=NEW)
    assert own_titles(alice) == ["Once only", "Once only"]


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "é"])
def test_a_bad_key_is_refused(alice: ApiUser, key: str) -> None:
    answer = alice.post("/api/prompts", json=NEW, headers={"Idempotency-Key": key.encode()})
    assert answer.status_code == 422
    assert own_titles(alice) == []


def test_a_refused_request_is_not_kept(alice: ApiUser) -> None:
    assert alice.post("/api/prompts/999/fork", headers=keyed("f")).status_code == 404
    source = alice.create_prompt(title="Source")
    assert alice.post(f"/api/prompts/{source['id']}/fork", headers=keyed("f2")).status_code == 201


def test_fork_and_star_repeat_their_first_answer(alice: ApiUser, bob: ApiUser) -> None:
    source = alice.create_prompt(title="Source")
    fork = bob.post(f"/api/prompts/{source['id']}/fork", headers=keyed("fork"))
    again = bob.post(f"/api/prompts/{source['id']}/fork", headers=keyed("fork"))
    assert fork.status_code == again.status_code == 201
    assert again.content == fork.content
    assert again.headers["location"] == fork.headers["location"] == f"/api/prompts/{fork.json()['id']}"
    assert own_titles(bob) == ["Source"]
    # Another prompt under the same key is another request.
    other = alice.create_prompt(title="Other")
    assert bob.post(f"/api/prompts/{other['id']}/fork", headers=keyed("fork")).status_code == 422

    star = bob.put(f"/api/prompts/{source['id']}/star", headers=keyed("star"))
    bob.delete(f"/api/prompts/{source['id']}/star")
    again = bob.put(f"/api/prompts/{source['id']}/star", headers=keyed("star"))
    assert star.json() == again.json() == {"stars": 1}
    assert alice.get(f"/api/prompts/{source['id']}").json()["stars"] == 0  # the repeat wrote nothing


def test_a_repeated_import_answers_its_first_report(alice: ApiUser) -> None:
    document = {"format": "allucanget-prompts", "prompts": [{"title": "Imported", "body": "b"}]}
    first = alice.post("/api/import", json=document, headers=keyed("imp"))
    again = alice.post("/api/import", json=document, headers=keyed("imp"))
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert first.json()["created"] == 1
    csv = "title,body\nImported,b\n"
    other = alice.post("/api/import", content=csv, headers={**keyed("imp"), "Content-Type": "text/csv"})
    assert other.status_code == 422


def test_a_repeat_while_the_first_runs_gets_409(
    alice: ApiUser, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    create = prompts.create_prompt

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        started.set()
        release.wait(10)
        return create(*args, **kwargs)

    monkeypatch.setattr(prompts, "create_prompt", slow_create)
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(alice.post("/api/prompts", json=NEW, headers=keyed("slow")))
    )
    first.start()
    assert started.wait(10)
    during = alice.post("/api/prompts", json=NEW, headers=keyed("slow"))
    release.set()
    first.join(10)
    assert during.status_code == 409
    assert "still being served" in during.json()["detail"]
    assert answers[0].status_code == 201
    after = alice.post("/api/prompts", json=NEW, headers=keyed("slow"))
    assert after.content == answers[0].content


def test_an_expired_key_may_be_used_again_and_old_rows_are_purged(
    alice: ApiUser, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice.post("/api/prompts", json=NEW, headers=keyed("old"))
    db.write(
        lambda cur: cur.execute(
            "UPDATE idempotency_keys SET created_at = created_at - ?", [idempotency.KEPT_FOR + timedelta(1)]
        )
    )
    # Past 24 hours the key is free: the same body writes again.
    assert alice.post("/api/prompts", json=NEW, headers=keyed("old")).status_code == 201
    assert own_titles(alice) == ["Once only", "Once only"]
    db.write(lambda cur: cur.execute("UPDATE idempotency_keys SET created_at = created_at - INTERVAL 2 DAY"))
    assert db.write(lambda cur: idempotency.purge(cur, limit=10)) == 1
    assert db.fetchone("SELECT count(*) FROM idempotency_keys") == (0,)


def test_purge_is_bounded_per_call(db: Database) -> None:
    old = idempotency._now() - timedelta(days=2)
    db.write(
        lambda cur: cur.execute(
            "INSERT INTO idempotency_keys"
            " SELECT 1, 'k' || i, ''::BLOB, 201, ''::BLOB, ? FROM range(2500) t(i)",
            [old],
        )
    )
    started = time.process_time()  # CPU, not wall time: the machine may be busy
    assert db.write(idempotency.purge) == idempotency.PURGE_BATCH
    assert time.process_time() - started < 2.0
    assert db.fetchone("SELECT count(*) FROM idempotency_keys") == (2500 - idempotency.PURGE_BATCH,)


def test_the_header_is_documented(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    for path, method in [
        ("/api/prompts", "post"),
        ("/api/import", "post"),
        ("/api/prompts/{prompt_id}/fork", "post"),
        ("/api/prompts/{prompt_id}/star", "put"),
    ]:
        operation = spec["paths"][path][method]
        names = [(p["in"], p["name"]) for p in operation["parameters"]]
        assert ("header", "Idempotency-Key") in names, path
        assert "409" in operation["responses"], path
