"""Forks: a private copy that links back to its source only while the viewer may see it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from composite.db import Database
from composite.library import accounts, export, forks, prompts, stars, transfer, useradmin
from composite.library.errors import NotFound
from composite.library.migrations import MIGRATIONS_DIR
from composite.library.prompts import CONTENT_FIELDS


def forks_of(db: Database, prompt_id: int) -> int:
    """The fork count stored on a prompt, read as its owner would."""
    row = db.fetchone("SELECT forks FROM prompts WHERE id = ?", [prompt_id])
    assert row is not None
    return int(row[0])


def test_a_fork_is_a_private_copy_of_the_current_content(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    source = prompts.create_prompt(
        db, alice, visibility="public", title="Haiku", body="Write a haiku about {{topic}}."
    )
    source = prompts.update_prompt(
        db, source.id, alice, body="Write a haiku about ${topic:autumn}.", tags=["poetry"], model_hint="any"
    )
    fork = forks.fork_prompt(db, source.id, bob)
    assert (fork.owner, fork.visibility, fork.version, fork.stars, fork.forks) == ("bob", "private", 1, 0, 0)
    for name in CONTENT_FIELDS:
        if name != "visibility":
            assert getattr(fork, name) == getattr(source, name), name
    assert (fork.id, fork.uid) != (source.id, source.uid)
    assert fork.source_id == source.id
    assert forks.visible_source(db, fork, bob.id) == forks.ForkSource(source.id, "Haiku", "alice")
    assert prompts.get_prompt(db, source.id).forks == 0  # private: nobody else may see it
    # The fork is bob's own prompt: he edits it, and the source stays as it was.
    prompts.update_prompt(db, fork.id, bob, body="Changed")
    assert prompts.get_prompt(db, source.id).body == "Write a haiku about ${topic:autumn}."
    # A fork is found by its owner's search, and by nobody else's while it is private.
    assert prompts.get_prompt(db, fork.id, bob.id).title == "Haiku"
    with pytest.raises(NotFound):
        prompts.get_prompt(db, fork.id, alice.id)


def test_only_public_forks_count_and_deleting_or_hiding_one_uncounts_it(db: Database, make_user) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    source = prompts.create_prompt(db, alice, visibility="public", title="T", body="B")
    first = forks.fork_prompt(db, source.id, bob)
    second = forks.fork_prompt(db, source.id, bob)  # a second copy is a second fork
    third = forks.fork_prompt(db, source.id, carol)
    assert forks_of(db, source.id) == 0  # three private copies: nothing anyone else may see
    for fork, owner in ((first, bob), (second, bob), (third, carol)):
        prompts.update_prompt(db, fork.id, owner, visibility="public")
    assert forks_of(db, source.id) == 3
    prompts.update_prompt(db, second.id, bob, visibility="private")
    prompts.update_prompt(db, second.id, bob, visibility="private")  # no change, no count
    assert forks_of(db, source.id) == 2
    prompts.delete_prompt(db, first.id, bob)
    prompts.delete_prompt(db, second.id, bob)  # private: it was not counted
    assert forks_of(db, source.id) == 1
    assert prompts.get_prompt(db, source.id).stars == 0  # forks are not stars


def test_an_import_that_publishes_or_hides_forks_moves_their_sources_counts(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    sources = [prompts.create_prompt(db, alice, visibility="public", title=f"S{i}", body="B") for i in (1, 2)]
    copies = [forks.fork_prompt(db, source.id, bob) for source in (sources[0], sources[0], sources[1])]
    document = export.export_prompts(db, bob)
    for item in document["prompts"]:
        item["visibility"] = "public"
    assert transfer.import_prompts(db, bob, document).updated == 3
    assert [forks_of(db, source.id) for source in sources] == [2, 1]
    for item in document["prompts"]:
        if item["uid"] in (str(copies[0].uid), str(copies[2].uid)):
            item["visibility"] = "private"
    assert transfer.import_prompts(db, bob, document).updated == 2
    assert [forks_of(db, source.id) for source in sources] == [1, 0]


def test_a_fork_of_ones_own_prompt_even_a_private_one(db: Database, make_user) -> None:
    alice = make_user("alice")
    secret = prompts.create_prompt(db, alice, title="Mine", body="B", visibility="private")
    fork = forks.fork_prompt(db, secret.id, alice)
    assert (fork.owner, fork.visibility) == ("alice", "private")
    assert forks.visible_source(db, fork, alice.id) == forks.ForkSource(secret.id, "Mine", "alice")
    # Not even its owner counts a private fork: the count is one number for every viewer.
    assert forks_of(db, secret.id) == 0
    prompts.update_prompt(db, fork.id, alice, visibility="public")
    assert forks_of(db, secret.id) == 1


def test_a_prompt_one_cannot_see_cannot_be_forked(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    secret = prompts.create_prompt(db, alice, title="T", body="B", visibility="private")
    for prompt_id in (secret.id, 999_999):
        with pytest.raises(NotFound):
            forks.fork_prompt(db, prompt_id, bob)
    assert forks_of(db, secret.id) == 0
    assert db.fetchone("SELECT count(*) FROM prompts") == (1,)


def test_the_link_back_shows_only_while_the_viewer_may_see_the_source(db: Database, make_user) -> None:
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    source = prompts.create_prompt(db, alice, visibility="public", title="Secret plans", body="B")
    fork = forks.fork_prompt(db, source.id, bob)
    fork = prompts.update_prompt(db, fork.id, bob, visibility="public")
    for viewer in (None, alice.id, bob.id, carol.id):
        assert forks.visible_source(db, fork, viewer) is not None
    # The source becomes private: only its owner still sees where the public fork came from.
    prompts.update_prompt(db, source.id, alice, visibility="private")
    hidden = forks.ForkSource(source.id, "Secret plans", "alice")
    assert forks.visible_sources(db, [fork], alice.id) == {source.id: hidden}
    for viewer in (None, bob.id, carol.id):
        assert forks.visible_source(db, fork, viewer) is None
        assert forks.visible_sources(db, [fork], viewer) == {}
    # Deleted: the link is gone for everyone, the fork itself stays.
    prompts.delete_prompt(db, source.id, alice)
    fork = prompts.get_prompt(db, fork.id)
    assert fork.source_id is None
    assert forks.visible_source(db, fork, alice.id) is None


def test_deleting_a_user_uncounts_their_forks_and_unlinks_forks_of_their_prompts(
    db: Database, make_user
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    hers = prompts.create_prompt(db, alice, visibility="public", title="Hers", body="B")
    his = prompts.create_prompt(db, bob, visibility="public", title="His", body="B")
    kept = forks.fork_prompt(db, hers.id, bob)
    prompts.update_prompt(db, kept.id, bob, visibility="public")
    forks.fork_prompt(db, hers.id, bob)  # private: not counted, so not uncounted either
    of_his = forks.fork_prompt(db, his.id, alice)
    assert forks_of(db, hers.id) == 1
    useradmin.delete_user(db, "bob")
    assert forks_of(db, hers.id) == 0
    assert prompts.get_prompt(db, of_his.id, alice.id).source_id is None


def test_a_fork_exports_its_source_and_an_import_links_it_back(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    source = prompts.create_prompt(db, alice, visibility="public", title="T", body="B", tags=["x"])
    stars.star(db, source.id, bob)
    fork = forks.fork_prompt(db, source.id, bob)
    document = export.export_prompts(db, bob)
    (item,) = document["prompts"]
    assert set(item) == {"uid", *CONTENT_FIELDS, "version", "created_at", "updated_at", "source"}
    assert item["source"] == {"uid": str(source.uid), "title": "T", "owner": "alice"}
    assert (item["uid"], item["title"], item["visibility"]) == (str(fork.uid), "T", "private")
    carol = accounts.create_user(db, "carol", "password123")
    assert transfer.import_prompts(db, carol, document).created == 1
    # The source is one she may see: linked again.
    assert db.fetchall("SELECT source_id FROM prompts WHERE owner_id = ?", [carol.id]) == [(source.id,)]
    assert transfer.import_prompts(db, bob, document).unchanged == 1
    prompts.update_prompt(db, fork.id, bob, visibility="public")
    document = export.export_prompts(db, bob)
    assert transfer.import_prompts(db, carol, document).updated == 1  # her copy, now public
    assert forks_of(db, source.id) == 2  # bob's and carol's, both public forks now


def test_an_imported_fork_of_a_source_the_importer_cannot_see_is_not_linked(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    mine = prompts.create_prompt(db, alice, title="Mine", body="B")  # private
    fork = forks.fork_prompt(db, mine.id, alice)
    document = export.export_prompts(db, alice)
    assert [item.get("source", {}).get("uid") for item in document["prompts"]] == [None, str(mine.uid)]
    assert fork.source_id == mine.id
    (item,) = document["prompts"][1:]  # the fork alone: its source is alice's private prompt
    assert transfer.import_prompts(db, bob, {**document, "prompts": [item]}).created == 1
    assert db.fetchall("SELECT source_id FROM prompts WHERE owner_id = ?", [bob.id]) == [(None,)]


@contextmanager
def migrated_up_to(tmp_path: Path, last: int) -> Iterator[Database]:
    """A database migrated up to migration ``last`` only, as an earlier release left it; closed after."""
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        if int(path.name[:4]) <= last:
            shutil.copy(path, before / path.name)
    database = Database(tmp_path / "old.db").open()
    try:
        database.migrate(before)
        yield database
    finally:
        database.close()


def test_the_migration_adds_fork_columns_to_a_database_with_prompts(tmp_path: Path) -> None:
    with migrated_up_to(tmp_path, 6) as database:
        alice = accounts.create_user(database, "alice", "password123")
        database.write(
            lambda cur: cur.execute(
                "INSERT INTO prompts (owner_id, title, body, visibility, stars)"
                " VALUES (?, 'Old', 'Body', 'public', 2), (?, 'Older', 'Body', 'private', 0)",
                [alice.id, alice.id],
            )
        )
        assert database.migrate(MIGRATIONS_DIR)[0] == "0007_forks.sql"
        assert database.fetchall("SELECT title, stars, forks, source_id FROM prompts ORDER BY id") == [
            ("Old", 2, 0, None),
            ("Older", 0, 0, None),
        ]
        # The indexes dropped around the change are back.
        names = {row[0] for row in database.fetchall("SELECT index_name FROM duckdb_indexes()")}
        assert {"prompts_owner", "prompts_uid"} <= names
        old = database.fetchone("SELECT id FROM prompts WHERE title = 'Old'")
        assert old is not None
        fork = forks.fork_prompt(database, old[0], alice)
        prompts.update_prompt(database, fork.id, alice, visibility="public")
        assert (fork.source_id, prompts.get_prompt(database, old[0]).forks) == (old[0], 1)


def test_forking_the_largest_body_copies_it_whole_as_one_more_prompt(db: Database, make_user) -> None:
    from composite.library.rules import BODY_MAX

    alice, bob = make_user("alice"), make_user("bob")
    body = " ".join(f"word{i}" for i in range(BODY_MAX // 10))[:BODY_MAX]
    source = prompts.create_prompt(db, alice, visibility="public", title="Long", body=body)
    before = db.fetchone("SELECT (SELECT count(*) FROM prompts), (SELECT count(*) FROM prompt_versions)")
    fork = forks.fork_prompt(db, source.id, bob)
    assert fork.body == body
    after = db.fetchone("SELECT (SELECT count(*) FROM prompts), (SELECT count(*) FROM prompt_versions)")
    assert before is not None
    assert after == (before[0] + 1, before[1] + 1)  # one prompt, one version: nothing else grows
    terms = "SELECT count(*) FROM search_terms WHERE prompt_id = ?"
    assert db.fetchone(terms, [fork.id]) == db.fetchone(terms, [source.id])


def test_the_migration_counts_public_forks_only(tmp_path: Path) -> None:
    with migrated_up_to(tmp_path, 8) as database:
        alice = accounts.create_user(database, "alice", "password123")
        # As the code before it counted: every fork, private ones too.
        database.write(
            lambda cur: cur.execute(
                "INSERT INTO prompts (id, owner_id, title, body, visibility, forks, source_id) VALUES"
                " (1, ?, 'Source', 'B', 'public', 3, NULL), (2, ?, 'Copied', 'B', 'public', 2, NULL),"
                " (3, ?, 'Alone', 'B', 'public', 0, NULL), (4, ?, 'F', 'B', 'private', 0, 1),"
                " (5, ?, 'F', 'B', 'public', 0, 1), (6, ?, 'F', 'B', 'public', 0, 1),"
                " (7, ?, 'F', 'B', 'private', 0, 2), (8, ?, 'F', 'B', 'private', 0, 2)",
                [alice.id] * 8,
            )
        )
        assert database.migrate(MIGRATIONS_DIR)[0] == "0009_public_fork_counts.sql"  # and any later
        counts = database.fetchall("SELECT id, forks FROM prompts WHERE id <= 3 ORDER BY id")
        assert counts == [(1, 2), (2, 0), (3, 0)]
