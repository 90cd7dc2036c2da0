"""Imports at real size against the real process: large files stream in, too large is a clear 413."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support import corpus
from tests.support.client import register
from tests.support.process import ServerProcess
from tests.support.web import Browser, csrf_from

MIB = 1024 * 1024


def resident_bytes(server: ServerProcess) -> int:
    """The server process's resident memory now."""
    assert server.proc is not None
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


def chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    """A chunked body of ``total`` bytes that the client never holds at once."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        yield b" " * piece
        sent += piece


def test_large_imports_pass_and_larger_ones_are_refused_without_growing_the_process(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        token = register(server, "importer")
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.backend, timeout=300, headers=auth) as api:
            # A 4 MB export, past the 1 MiB limit of every other request.
            data = corpus.export_bytes(corpus.prompts(1500, seed=8))
            answer = api.post("/api/import", content=data, headers={"Content-Type": "application/json"})
            assert answer.status_code == 200, answer.text[:500]
            assert answer.json()["created"] == 1500

            before = resident_bytes(server)
            # Declared too large: refused before a byte of it is read.
            declared = api.post(
                "/api/import",
                content=chunks(64 * MIB + 1),
                headers={"Content-Type": "text/csv", "Content-Length": str(64 * MIB + 1)},
            )
            assert declared.status_code == 413
            assert declared.json() == {"detail": "Request body is larger than the limit of 64 MiB."}
            # Chunked, so the server reads 64 MiB (spooled to disk) before it can tell.
            streamed = api.post("/api/import", content=chunks(65 * MIB), headers={"Content-Type": "text/csv"})
            assert streamed.status_code == 413
            assert "64 MiB" in streamed.json()["detail"]
            grown = resident_bytes(server) - before
            assert grown < 32 * MIB, f"the process grew by {grown / MIB:.0f} MiB"

            # Every other route keeps the 1 MiB limit.
            big = {"title": "t", "body": "x" * (MIB + 1)}
            assert api.post("/api/prompts", json=big).status_code == 413

        with Browser(server) as person:
            person.register("uploader")
            page = person.client.get("/account")
            form = {"csrf_token": csrf_from(page.text)}
            csv_data = corpus.csv_bytes(corpus.prompts(1500, seed=9), style="act")
            files = {"file": ("prompts.csv", csv_data, "text/csv")}
            done = person.client.post("/account/import", data=form, files=files, timeout=300)
            assert done.status_code == 200, done.text[:500]
            assert "Imported: 1500 new, 0 updated, 0 already up to date." in done.text

            # Too large: the site's own error page, not plain text.
            huge = person.client.post(
                "/account/import",
                content=chunks(65 * MIB),
                headers={"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(65 * MIB)},
            )
            assert huge.status_code == 413
            assert huge.headers["content-type"].startswith("text/html")
            assert "413 · Too large" in huge.text
            assert "Request body is larger than the limit of 64 MiB." in huge.text
            assert "/static/style.css" in huge.text  # in the site's layout
            # Other forms keep the 1 MiB limit, with the same styled page.
            login = person.client.post("/login", data={"csrf_token": "x", "username": "u" * (MIB + 1)})
            assert login.status_code == 413
            assert "413 · Too large" in login.text
            assert "1 MiB" in login.text
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def with_history(items: list[dict], every: int = 10) -> list[dict]:
    """The items as a version-2 export gives them: every ``every``-th with two earlier versions, a label."""
    shaped = []
    for n, item in enumerate(items):
        month = f"2025-{n % 12 + 1:02}"
        dated = {**item, "created_at": f"{month}-01T08:00:00+00:00"}
        if n % every == 0:
            earlier = [
                {**dated, "version": v, "body": f"Draft {v}. {item['body'][:200]}"}
                | {"saved_at": f"{month}-0{v + 1}T08:00:00+00:00"}
                for v in (1, 2)
            ]
            dated |= {"version": 3, "history": earlier, "labels": {"production": 2}}
        shaped.append(dated)
    return shaped


def comparable(document: dict) -> list[tuple]:
    """An export's prompts without what differs between accounts (uids, the owner), in file order."""
    return [
        tuple(sorted((key, repr(value)) for key, value in item.items() if key not in ("uid", "updated_at")))
        for item in document["prompts"]
    ]


def test_an_export_of_10001_prompts_with_history_goes_back_in_whole(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        first, second = register(server, "collector"), register(server, "mover")
        items = with_history(corpus.prompts(10_001, seed=21))
        data = json.dumps(corpus.export_document(items), ensure_ascii=False).encode()
        with httpx.Client(base_url=server.backend, timeout=600) as api:
            sent = api.post(
                "/api/import",
                content=data,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {first}"},
            )
            assert sent.status_code == 200, sent.text[:500]
            assert (sent.json()["created"], sent.json()["refused"]) == (10_001, 0)
            exported = api.get("/api/export", headers={"Authorization": f"Bearer {first}"})
            assert exported.status_code == 200
            document = exported.json()
            assert len(document["prompts"]) == 10_001
            assert len(exported.content) > 25_000_000
            back = api.post(
                "/api/import",
                content=exported.content,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {second}"},
            )
            assert back.status_code == 200, back.text[:500]
            assert (back.json()["created"], back.json()["refused"]) == (10_001, 0)
            moved = api.get("/api/export", headers={"Authorization": f"Bearer {second}"}).json()
        # History, labels, versions and dates (the latest's too, given by the first file) equal.
        assert comparable(moved) == comparable(document)
        assert [item["updated_at"] for item in moved["prompts"]] == [
            item["updated_at"] for item in document["prompts"]
        ]
        terminal = document["prompts"][0]
        assert (terminal["version"], len(terminal["history"]), terminal["labels"]) == (
            3,
            2,
            {"production": 2},
        )
        assert terminal["history"][0]["saved_at"].startswith("2025-01-02T08:00:00")
    finally:
        server.stop()
