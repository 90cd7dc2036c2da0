"""An export carries every version, label, date and fork source; importing it restores them."""

from __future__ import annotations

import csv
import io
from typing import Any

from composite.db import Database
from composite.library import export, forks, labels, prompts, transfer
from composite.library.import_files import EXPORT_FORMAT


def past_of(db: Database, owner_id: int) -> list[tuple[Any, ...]]:
    """An owner's prompts as an import should restore them: versions, labels, dates (not ids or uids)."""
    rows = db.fetchall(
        "SELECT p.id, p.title, p.version, p.created_at, p.updated_at FROM prompts p"
        " WHERE p.owner_id = ? ORDER BY p.created_at, p.title",
        [owner_id],
    )
    restored = []
    for prompt_id, title, version, created, updated in rows:
        versions = db.fetchall(
            "SELECT version, title, body, description, tags, visibility, created_at FROM prompt_versions"
            " WHERE prompt_id = ? ORDER BY version",
            [prompt_id],
        )
        named = db.fetchall(
            "SELECT name, version FROM prompt_labels WHERE prompt_id = ? ORDER BY name", [prompt_id]
        )
        restored.append((title, version, created, updated, versions, named))
    return restored


def test_a_round_trip_into_a_new_account_keeps_history_labels_and_dates(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    terminal = prompts.create_prompt(
        db, alice, title="Linux Terminal", body="Act as a terminal.", tags=["shell"]
    )
    prompts.update_prompt(db, terminal.id, alice, body="Act as a Linux terminal. Reply with output only.")
    prompts.update_prompt(db, terminal.id, alice, visibility="public", tags=["shell", "linux"])
    labels.set_label(db, terminal.id, "production", 2, alice)
    labels.set_label(db, terminal.id, "staging", 3, alice)
    prompts.create_prompt(db, alice, title="Translator", body="将下面的文字翻译成英文 {{text}}")
    document = export.export_prompts(db, alice)
    item = document["prompts"][0]
    assert (item["version"], [old["version"] for old in item["history"]]) == (3, [1, 2])
    assert item["labels"] == {"production": 2, "staging": 3}
    assert item["history"][0]["body"] == "Act as a terminal."
    assert item["updated_at"].endswith("+00:00")  # a time a reader elsewhere can place

    result = transfer.import_prompts(db, bob, document)
    assert result.created == 2
    assert past_of(db, bob.id) == past_of(db, alice.id)
    # What history and labels read from: the version pages and the label lookups.
    (copy_id,) = db.fetchone("SELECT id FROM prompts WHERE owner_id = ? AND version = 3", [bob.id])
    assert labels.labelled_prompt(db, copy_id, "production", bob.id).body.startswith("Act as a Linux")
    # Into the account it came from: matched, nothing new, history untouched.
    again = transfer.import_prompts(db, alice, document)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert db.fetchone("SELECT count(*) FROM prompt_versions pv JOIN prompts p ON p.id = pv.prompt_id"
                       " WHERE p.owner_id = ?", [alice.id]) == (4,)  # fmt: skip


def test_an_item_with_a_broken_history_is_refused_alone_with_the_reason(db: Database, make_user) -> None:
    alice = make_user("alice")
    good = {"title": "Good", "body": "b"}
    gaps = {"title": "Gaps", "body": "b", "history": [{"version": 2, "title": "t", "body": "b"}]}
    label = {"title": "Label", "body": "b", "labels": {"prod": 5}}
    empty = {"title": "Empty", "body": "b", "history": [{"version": 1, "title": "t", "body": ""}]}
    when = {"title": "When", "body": "b", "created_at": "yesterday"}
    document = {"format": EXPORT_FORMAT, "prompts": [good, gaps, label, empty, when]}
    result = transfer.import_prompts(db, alice, document)
    reasons = [item.reason for item in result.items]
    assert reasons[0] is None
    assert "versions 1, 2" in reasons[1]
    assert "prod points at version 5" in reasons[2]
    assert reasons[3].startswith("history version 1 body")
    assert "ISO 8601" in reasons[4]
    assert result.created == 1


def test_an_item_of_the_first_export_format_still_imports_as_version_one(db: Database, make_user) -> None:
    alice = make_user("alice")
    item = {
        "title": "Old",
        "body": "b",
        "created_at": "2024-05-01T10:00:00",
        "updated_at": "2024-06-01T10:00:00",
    }
    transfer.import_prompts(db, alice, {"format": EXPORT_FORMAT, "version": 1, "prompts": [item]})
    row = db.fetchone("SELECT version, created_at, updated_at FROM prompts WHERE owner_id = ?", [alice.id])
    assert row is not None
    assert (row[0], row[1].year, row[2].month) == (1, 2024, 6)


def test_a_public_imported_fork_of_a_visible_source_counts_as_its_fork(db: Database, make_user) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    source = prompts.create_prompt(db, alice, title="Source", body="s", visibility="public")
    fork = forks.fork_prompt(db, source.id, bob)
    prompts.update_prompt(db, fork.id, bob, visibility="public", body="changed")
    assert db.fetchone("SELECT forks FROM prompts WHERE id = ?", [source.id]) == (1,)
    transfer.import_prompts(db, carol, export.export_prompts(db, bob))
    assert db.fetchone("SELECT forks FROM prompts WHERE id = ?", [source.id]) == (2,)
    assert db.fetchone("SELECT forks FROM prompts WHERE id = ?", [source.id]) == db.fetchone(
        "SELECT count(*) FROM prompts WHERE source_id = ? AND visibility = 'public'", [source.id]
    )


def test_the_csv_export_has_the_latest_versions_and_guards_formulas(db: Database, make_user) -> None:
    alice = make_user("alice")
    prompts.create_prompt(
        db, alice, title='=HYPERLINK("http://x")', body="- a list\n- of items", tags=["a", "b"]
    )
    prompts.create_prompt(db, alice, title="Plain", body="@mention and +1", description="-- dashes")
    data = b"".join(export.export_csv(db, alice))
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 only with the mark
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert rows[0]["title"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["body"] == "'- a list\n- of items"
    assert (rows[0]["tags"], rows[0]["visibility"]) == ("a, b", "private")
    assert (rows[1]["title"], rows[1]["body"], rows[1]["description"]) == (
        "Plain",
        "'@mention and +1",
        "'-- dashes",
    )
    assert rows[1]["created"].endswith("+00:00")


def test_a_csv_export_imports_back_as_the_same_text(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    prompts.create_prompt(db, alice, title="=SUM(A1)", body="- item\n- item", tags=["x"], description="+plus")
    data = b"".join(export.export_csv(db, alice))
    result = transfer.import_file(db, bob, io.BytesIO(data), "csv")
    assert result.created == 1, result.items
    row = db.fetchone("SELECT title, body, description, tags FROM prompts WHERE owner_id = ?", [bob.id])
    assert row == ("=SUM(A1)", "- item\n- item", "+plus", ["x"])
