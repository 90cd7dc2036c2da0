"""Kept rows are the database's rows: after every kind of write, the next read is what a query says.

A prompt's row and labels are kept until a write touches the prompt (prompts.kept_row,
labels.kept_labels), so reading a prompt page costs no query while nothing changes. These
tests check both halves: an unchanged prompt is read from what is kept, and after each
write, seeded at random over stars, edits, visibility, labels, restores, forks and
deletes, every viewer's read agrees with the same read made straight from the database.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from composite.db import Database, first
from composite.library import forks, freshness, history, labels, prompts, stars
from composite.library.accounts import User
from composite.library.errors import DomainError, NotFound
from composite.library.freshness import PromptState

Seen = tuple[object, object, object] | str


def from_the_database(db: Database, prompt_id: int, viewer_id: int | None) -> Seen:
    """What a viewer sees of a prompt, by queries alone (no kept value), as the code did before."""
    cur = db.cursor()
    try:
        prompt = prompts.load_visible(cur, prompt_id, viewer_id)
    except NotFound:
        return "not found"
    row = first(cur.execute("SELECT hash(p), owner_id FROM prompts p WHERE id = ?", [prompt_id]))
    assert row is not None
    source = None
    if prompt.source_id is not None:
        try:
            found = prompts.load_visible(cur, prompt.source_id, viewer_id)
            source = (found.id, found.title, found.owner)
        except NotFound:
            pass
    shown = labels.visible_labels(cur, prompt_id, viewer_id, row[1])
    return prompt, PromptState(int(row[0]), shown, source[1] if source else None), source


def as_kept(db: Database, prompt_id: int, viewer_id: int | None) -> Seen:
    """What a viewer sees of a prompt through the kept rows, as pages read it."""
    try:
        state = freshness.prompt_state(db, prompt_id, viewer_id)
        prompt = prompts.get_prompt(db, prompt_id, viewer_id)
    except NotFound:
        return "not found"
    source = forks.visible_source(db, prompt, viewer_id)
    return prompt, state, (source.id, source.title, source.owner) if source else None


def test_an_unchanged_prompt_is_read_without_a_query(db: Database, make_user) -> None:
    alice = make_user("alice")
    made = prompts.create_prompt(db, alice, title="Kept", body="a body", visibility="public")
    as_kept(db, made.id, None)
    misses = db.memo.misses
    for viewer in (None, alice.id, None):
        seen = as_kept(db, made.id, viewer)
        assert seen == from_the_database(db, made.id, viewer)
    assert db.memo.misses == misses  # every read after the first is served from what is kept
    stars.star(db, made.id, alice)
    assert as_kept(db, made.id, None)[0].stars == 1  # type: ignore[index]
    assert db.memo.misses > misses


def test_a_write_inside_a_transaction_is_seen_by_its_own_reads_and_kept_by_no_one(
    db: Database, make_user
) -> None:
    alice = make_user("alice")
    made = prompts.create_prompt(db, alice, title="Before", body="a body", visibility="public")
    assert prompts.get_prompt(db, made.id).title == "Before"  # kept

    def rename_then_fail(cur: object) -> None:
        db.cursor().execute("UPDATE prompts SET title = 'During' WHERE id = ?", [made.id])
        assert prompts.get_prompt(db, made.id).title == "During"  # the writer sees its own write
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        db.write(rename_then_fail)
    assert prompts.get_prompt(db, made.id).title == "Before"  # nothing uncommitted was kept


def writes(
    db: Database, alice: User, bob: User, ids: list[int], gone: list[int], rng: random.Random
) -> list[Callable[[], object]]:
    """Each kind of write a reader of one prompt may have to see, on a live prompt chosen at random."""

    def pick() -> int:
        return rng.choice(ids)

    def owner_of(prompt_id: int) -> User:
        row = first(db.cursor().execute("SELECT owner_id FROM prompts WHERE id = ?", [prompt_id]))
        return alice if row and row[0] == alice.id else bob

    def edit() -> object:
        target = pick()
        return prompts.update_prompt(db, target, owner_of(target), body=f"body {rng.random()}")

    def publish_or_hide() -> object:
        target = pick()
        visibility = rng.choice(["public", "private"])
        return prompts.update_prompt(db, target, owner_of(target), visibility=visibility)

    def label() -> object:
        target = pick()
        version = rng.choice(history.version_numbers(db, target, owner_of(target).id))
        return labels.set_label(db, target, rng.choice(["prod", "staging"]), version, owner_of(target))

    def unlabel() -> object:
        target = pick()
        return labels.remove_label(db, target, rng.choice(["prod", "staging"]), owner_of(target))

    def restore() -> object:
        target = pick()
        return history.restore_version(db, target, 1, owner_of(target))

    def fork() -> object:
        target = pick()
        copy = forks.fork_prompt(db, target, owner_of(target))  # the owner may always see it
        ids.append(copy.id)
        return copy

    def delete() -> object:
        if len(ids) <= 3:
            return None
        target = pick()
        prompts.delete_prompt(db, target, owner_of(target))
        ids.remove(target)
        gone.append(target)  # still read, as a missing prompt
        return None

    return [
        lambda: stars.star(db, (target := pick()), owner_of(target)),
        lambda: stars.unstar(db, (target := pick()), owner_of(target)),
        edit,
        publish_or_hide,
        label,
        unlabel,
        restore,
        fork,
        delete,
    ]


def test_after_every_kind_of_write_each_viewer_reads_what_the_database_holds(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    rng = random.Random(20261207)
    ids = [
        prompts.create_prompt(db, owner, title=f"p{n}", body=f"body {n}", visibility="public").id
        for n, owner in enumerate([alice, bob, alice, bob])
    ]
    gone: list[int] = []
    kinds = writes(db, alice, bob, ids, gone, rng)
    done = 0
    for _ in range(100):
        for prompt_id in ids + gone:  # every page read, so that each write finds something kept
            for viewer in (None, alice.id, bob.id):
                assert as_kept(db, prompt_id, viewer) == from_the_database(db, prompt_id, viewer)
        try:
            rng.choice(kinds)()
            done += 1
        except DomainError:  # a write refused (a deleted prompt, a label on a gone version)
            pass
    assert done > 50
    assert db.memo.hits > 500
