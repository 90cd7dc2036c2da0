"""Export a user's whole library: every prompt with its history, labels, dates and fork source.

The export document is what ``composite.library.transfer`` takes back: importing it into an
empty account gives the same prompts at the same versions, with the same earlier versions,
labels and dates. It is written as it is read, a page of prompts at a time, so an account
of tens of thousands of prompts costs the memory of one page, not of the whole document.

A CSV form of the latest versions is offered for spreadsheets (``export_csv``), its cells
guarded against formula injection (composite.library.spreadsheet). It keeps no history
or labels; imported back, it gives the same text and dates at version 1.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from composite.db import Database, rows_as
from composite.library.accounts import User
from composite.library.import_files import EXPORT_FORMAT
from composite.library.prompts import CONTENT_FIELDS, PROMPT_COLUMNS, Prompt, may_see
from composite.library.spreadsheet import guarded

# 2: each prompt carries its version, earlier versions, labels and fork source (1 had
# only the latest content and the dates). An import reads either.
EXPORT_VERSION = 2
# Prompts read per query: a page of the largest bodies with their history stays a few MB.
EXPORT_PAGE = 200
# The columns of the CSV export, in order: what a spreadsheet user edits and sorts by.
CSV_COLUMNS = ("title", "body", "description", "tags", "visibility", "created", "updated")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


def file_name(user: User, kind: str) -> str:
    """The name an export downloads as: whose, which day, which form."""
    return f"prompts-{user.username}-{datetime.now(UTC):%Y-%m-%d}.{kind}"


def _stamp(moment: datetime) -> str:
    """A stored time as the export writes it, in UTC with its zone (the database keeps UTC without one)."""
    return moment.replace(tzinfo=UTC).isoformat()


def _content(source: Any) -> dict[str, Any]:
    """The content fields of a prompt or a version row, as JSON values."""
    return {field: list(value) if field == "tags" else value for field, value in source.items()}


def _pages(db: Database, user: User) -> Iterator[list[Prompt]]:
    """The user's prompts in id order, EXPORT_PAGE at a time (keyset, so each page is a range scan)."""
    after = 0
    while True:
        # This thread's cursor, asked for each page: a streamed answer's pages may each be
        # read on another thread of the pool.
        page = rows_as(
            Prompt,
            db.cursor().execute(
                f"SELECT {PROMPT_COLUMNS} FROM prompts p JOIN users u ON u.id = p.owner_id"
                " WHERE p.owner_id = ? AND p.id > ? ORDER BY p.id LIMIT ?",
                [user.id, after, EXPORT_PAGE],
            ),
        )
        if not page:
            return
        yield page
        after = page[-1].id


def export_items(db: Database, user: User) -> Iterator[dict[str, Any]]:
    """Each of the user's prompts as an export item, with its earlier versions, labels and source."""
    for page in _pages(db, user):
        ids = [p.id for p in page]
        history: dict[int, list[dict[str, Any]]] = defaultdict(list)
        rows = db.fetchall(
            f"SELECT prompt_id, version, {', '.join(CONTENT_FIELDS)}, created_at FROM prompt_versions"
            " WHERE prompt_id IN (SELECT unnest(?::BIGINT[])) ORDER BY prompt_id, version",
            [ids],
        )
        current = {p.id: p.version for p in page}
        for prompt_id, version, *content, saved_at in rows:
            if version < current[prompt_id]:  # the latest is the item itself
                fields = _content(dict(zip(CONTENT_FIELDS, content, strict=True)))
                history[prompt_id].append({"version": version, **fields, "saved_at": _stamp(saved_at)})
        labels: dict[int, dict[str, int]] = defaultdict(dict)
        for prompt_id, name, version in db.fetchall(
            "SELECT prompt_id, name, version FROM prompt_labels"
            " WHERE prompt_id IN (SELECT unnest(?::BIGINT[])) ORDER BY prompt_id, name",
            [ids],
        ):
            labels[prompt_id][name] = version
        sources = _sources(db, user, page)
        for p in page:
            item: dict[str, Any] = {
                "uid": str(p.uid),
                **_content({field: getattr(p, field) for field in CONTENT_FIELDS}),
                "version": p.version,
                "created_at": _stamp(p.created_at),
                "updated_at": _stamp(p.updated_at),
            }
            if p.id in sources:
                item["source"] = sources[p.id]
            if labels.get(p.id):
                item["labels"] = labels[p.id]
            if history.get(p.id):
                item["history"] = history[p.id]
            yield item


def _sources(db: Database, user: User, page: list[Prompt]) -> dict[int, dict[str, str]]:
    """The fork source of each prompt of the page that has one the user may still see, by prompt id."""
    wanted = {p.source_id for p in page if p.source_id is not None}
    if not wanted:
        return {}
    rows = db.fetchall(
        "SELECT p.id, p.uid, p.title, p.visibility, p.owner_id, u.username FROM prompts p"
        " JOIN users u ON u.id = p.owner_id WHERE p.id IN (SELECT unnest(?::BIGINT[]))",
        [sorted(wanted)],
    )
    seen = {
        row[0]: {"uid": str(row[1]), "title": row[2], "owner": row[5]}
        for row in rows
        if may_see(row[3], row[4], user.id)
    }
    return {p.id: seen[p.source_id] for p in page if p.source_id in seen}


def _head(user: User) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "owner": user.username,
    }


def export_prompts(db: Database, user: User) -> dict[str, Any]:
    """The export document as Python values, held whole: for tests and small libraries."""
    return {**_head(user), "prompts": list(export_items(db, user))}


def export_json(db: Database, user: User) -> Iterator[bytes]:
    """The export document as JSON text, written a page of prompts at a time."""
    head = json.dumps(_head(user), ensure_ascii=False)
    yield f'{head[:-1]}, "prompts": ['.encode()
    chunk: list[str] = []
    first = True
    for item in export_items(db, user):
        chunk.append(("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False))
        first = False
        if len(chunk) >= EXPORT_PAGE:
            yield "".join(chunk).encode()
            chunk = []
    yield ("".join(chunk) + "\n]}\n").encode()


def export_csv(db: Database, user: User) -> Iterator[bytes]:
    """The user's prompts at their latest version as CSV (UTF-8 with a byte order mark, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff".encode() + out.getvalue().encode()
    for page in _pages(db, user):
        out.seek(0)
        out.truncate()
        for p in page:
            cells = (p.title, p.body, p.description, ", ".join(p.tags), p.visibility)
            writer.writerow([*map(guarded, cells), _stamp(p.created_at), _stamp(p.updated_at)])
        yield out.getvalue().encode()
