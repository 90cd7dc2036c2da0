"""Export and import: a round trip merges instead of duplicating."""

from __future__ import annotations

import pytest

from composite.db import Database
from composite.library import prompts, transfer
from composite.library.errors import Invalid


def test_export_holds_all_of_the_owners_prompts_and_nobody_elses(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    prompts.create_prompt(db, alice, title="Public", body="x")
    prompts.create_prompt(db, alice, title="Private", body="y", visibility="private")
    prompts.create_prompt(db, bob, title="Bob's", body="z")
    exported = transfer.export_prompts(db, alice)
    assert exported["format"] == "allucanget-prompts"
    assert [p["title"] for p in exported["prompts"]] == ["Public", "Private"]


def test_round_trip_merges_updates_and_skips(db: Database, make_user) -> None:
    alice = make_user("alice")
    first = prompts.create_prompt(db, alice, title="First", body="one")
    prompts.create_prompt(db, alice, title="Second", body="two")
    exported = transfer.export_prompts(db, alice)
    assert transfer.import_prompts(db, alice, exported) == transfer.ImportResult(0, 0, 2)

    exported["prompts"][0]["body"] = "one, improved"
    exported["prompts"].append({"title": "Third", "body": "three", "tags": ["New"]})
    assert transfer.import_prompts(db, alice, exported) == transfer.ImportResult(1, 1, 1)
    assert prompts.get_prompt(db, first.id).version == 2
    assert db.fetchone("SELECT count(*) FROM prompts") == (3,)
    # The same file again changes nothing: the new prompt is matched by its content.
    assert transfer.import_prompts(db, alice, exported) == transfer.ImportResult(0, 0, 3)


def test_importing_someone_elses_export_makes_copies(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    original = prompts.create_prompt(db, alice, title="Alice's", body="x")
    assert transfer.import_prompts(db, bob, transfer.export_prompts(db, alice)).created == 1
    assert prompts.get_prompt(db, original.id).owner == "alice"
    assert db.fetchone("SELECT count(DISTINCT uid), count(*) FROM prompts") == (2, 2)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ([], "file"),
        ({"format": "other"}, "file"),
        ({"format": "allucanget-prompts", "prompts": "x"}, "prompts"),
        ({"format": "allucanget-prompts", "prompts": [1]}, "prompts[0]"),
        (
            {"format": "allucanget-prompts", "prompts": [{"title": "t", "body": "b", "uid": "nope"}]},
            "prompts[0].uid",
        ),
        ({"format": "allucanget-prompts", "prompts": [{"title": "", "body": "b"}]}, "prompts[0].title"),
        (
            {"format": "allucanget-prompts", "prompts": [{"title": "t", "body": "b", "tags": "a"}]},
            "prompts[0].tags",
        ),
        ({"format": "allucanget-prompts", "prompts": [{"title": 5, "body": "b"}]}, "prompts[0].title"),
    ],
)
def test_bad_import_is_refused_whole(db: Database, make_user, document: object, field: str) -> None:
    alice = make_user("alice")
    with pytest.raises(Invalid) as caught:
        transfer.import_prompts(db, alice, document)
    assert field in caught.value.errors
    assert db.fetchone("SELECT count(*) FROM prompts") == (0,)
