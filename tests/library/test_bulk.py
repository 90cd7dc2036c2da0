"""Bulk actions on one's own prompts: each prompt changed as one edit or one delete would change it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from composite.db import Database
from composite.library import bulk, catalog, forks, freshness, history, labels, prompts, stars
from composite.library.errors import Invalid, NotFound
from composite.library.rules import TAGS_MAX
from tests.library.test_scopes import recorded


def make_prompts(db: Database, owner, n: int, **fields) -> list[int]:
    """n prompts of ``owner``'s, private unless told otherwise; their ids, oldest first."""
    return [
        prompts.create_prompt(db, owner, title=f"Prompt {i}", body=f"Say walrus{i}", **fields).id
        for i in range(n)
    ]


def index_is_consistent(db: Database) -> bool:
    """The search dictionary counts each term's prompts exactly."""
    counted = dict(db.fetchall("SELECT term, count(*) FROM search_terms GROUP BY term"))
    recorded = dict(db.fetchall("SELECT term, df FROM search_vocab WHERE df <> 0"))
    return counted == recorded


def test_make_public_and_private_make_a_version_each(db: Database, make_user) -> None:
    alice = make_user("alice")
    ids = make_prompts(db, alice, 3)
    result = bulk.bulk_action(db, alice, ids, "make_public")
    assert [(item.id, item.outcome) for item in result.items] == [(i, "changed") for i in ids]
    for prompt_id in ids:
        assert prompts.get_prompt(db, prompt_id).visibility == "public"  # anyone sees it now
        assert history.version_numbers(db, prompt_id, alice.id) == [2, 1]
    assert {p.id for p in catalog.list_prompts(db, None, q="walrus1").items} == {ids[1]}

    again = bulk.bulk_action(db, alice, ids, "make_public")
    assert again.count("unchanged") == 3  # no new version for what is already so
    assert all(history.version_numbers(db, i, alice.id) == [2, 1] for i in ids)

    bulk.bulk_action(db, alice, ids[:2], "make_private")
    with pytest.raises(NotFound):
        prompts.get_prompt(db, ids[0])
    assert catalog.list_prompts(db, None, q="walrus0").items == ()  # search forgets it for others
    assert prompts.get_prompt(db, ids[2]).public


def test_add_and_remove_a_tag_as_edits_do(db: Database, make_user) -> None:
    alice = make_user("alice")
    ids = make_prompts(db, alice, 3, tags=["animals"], visibility="public")
    result = bulk.bulk_action(db, alice, ids[:2], "add_tag", "Sea Life")
    assert result.tag == "sea-life"  # the rules' spelling of a tag
    assert result.summary() == "2 prompts tagged “sea-life”."
    assert prompts.get_prompt(db, ids[0]).tags == ("animals", "sea-life")
    assert {p.id for p in catalog.list_prompts(db, None, tag="sea-life").items} == set(ids[:2])
    assert {p.id for p in catalog.list_prompts(db, None, q="sea life").items} == set(ids[:2])

    result = bulk.bulk_action(db, alice, ids, "remove_tag", "animals")
    assert result.count("changed") == 3
    assert prompts.get_prompt(db, ids[2]).tags == ()
    assert catalog.list_prompts(db, None, tag="animals").items == ()
    assert catalog.list_prompts(db, None, q="animals").items == ()  # the index follows the tags
    versions = history.list_versions(db, ids[0], alice.id)
    assert [(v.version, v.tags) for v in versions.items][:3] == [
        (3, ("sea-life",)),
        (2, ("animals", "sea-life")),
        (1, ("animals",)),
    ]
    assert bulk.bulk_action(db, alice, ids, "remove_tag", "animals").count("unchanged") == 3
    assert index_is_consistent(db)


def test_a_tag_past_the_bound_is_refused_for_that_prompt_alone(db: Database, make_user) -> None:
    alice = make_user("alice")
    full, roomy = make_prompts(db, alice, 1, tags=[f"t{i}" for i in range(TAGS_MAX)]) + make_prompts(
        db, alice, 1
    )
    result = bulk.bulk_action(db, alice, [full, roomy], "add_tag", "extra")
    assert [(item.outcome, item.reason) for item in result.items] == [
        ("refused", f"at most {TAGS_MAX} tags"),
        ("changed", None),
    ]
    assert len(prompts.get_prompt(db, full, alice.id).tags) == TAGS_MAX
    assert prompts.get_prompt(db, roomy, alice.id).tags == ("extra",)
    assert "1 refused (at most 10 tags)" in result.summary()


def test_another_users_and_unknown_ids_are_reported_and_untouched(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    mine = make_prompts(db, alice, 2)
    theirs = make_prompts(db, bob, 2, visibility="public", tags=["keep"])
    for action, tag in [("make_private", None), ("remove_tag", "keep"), ("delete", None)]:
        result = bulk.bulk_action(db, alice, [theirs[0], *mine, 999_999, theirs[1]], action, tag)
        outcomes = {item.id: item.outcome for item in result.items}
        assert outcomes[theirs[0]] == outcomes[theirs[1]] == outcomes[999_999] == "not_found"
    for prompt_id in theirs:
        prompt = prompts.get_prompt(db, prompt_id)
        assert (prompt.visibility, prompt.tags, prompt.version) == ("public", ("keep",), 1)
    assert [item.id for item in result.items] == [theirs[0], *mine, 999_999, theirs[1]]  # the order given
    assert result.summary() == "2 prompts deleted; 3 not found."


def test_a_request_past_the_bound_or_without_its_tag_is_refused_whole(db: Database, make_user) -> None:
    alice = make_user("alice")
    ids = make_prompts(db, alice, 2)
    with pytest.raises(Invalid) as caught:
        bulk.bulk_action(db, alice, list(range(1, bulk.BULK_MAX + 2)), "delete")
    assert caught.value.errors == {"ids": "at most 1,000 prompts at once; 1,001 were given"}
    assert bulk.check_request([1, 1, 2] * bulk.BULK_MAX, "delete", None)[0] == [1, 2]  # repeats count once
    for action, tag, field in [
        ("add_tag", None, "tag"),
        ("remove_tag", "  ", "tag"),
        ("add_tag", "no, commas", "tag"),
        ("publish", None, "action"),
    ]:
        with pytest.raises(Invalid) as caught:
            bulk.bulk_action(db, alice, ids, action, tag)
        assert set(caught.value.errors) == {field}
    with pytest.raises(Invalid):
        bulk.bulk_action(db, alice, [], "delete")
    assert all(prompts.get_prompt(db, i, alice.id).version == 1 for i in ids)


def test_delete_does_what_one_delete_does(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    ids = make_prompts(db, alice, 3, visibility="public", tags=["gone"])
    prompts.update_prompt(db, ids[0], alice, body="Say walrus0 twice")
    labels.set_label(db, ids[0], "production", 1, alice)
    stars.star(db, ids[0], bob)
    stars.star(db, ids[1], bob)
    fork = forks.fork_prompt(db, ids[1], bob)  # bob's copy keeps living; its source's count goes
    prompts.update_prompt(db, fork.id, bob, visibility="public")
    source_of_mine = prompts.create_prompt(db, bob, title="Bob's", body="text", visibility="public")
    my_fork = forks.fork_prompt(db, source_of_mine.id, alice)
    prompts.update_prompt(db, my_fork.id, alice, visibility="public")
    assert prompts.get_prompt(db, source_of_mine.id).forks == 1

    result = bulk.bulk_action(db, alice, [*ids[:2], my_fork.id], "delete")
    assert result.count("deleted") == 3
    for prompt_id in [*ids[:2], my_fork.id]:
        with pytest.raises(NotFound):
            prompts.get_prompt(db, prompt_id, alice.id)
        for table in ("prompt_versions", "prompt_labels", "stars", "search_terms"):
            assert db.fetchone(f"SELECT count(*) FROM {table} WHERE prompt_id = ?", [prompt_id]) == (0,)
    assert stars.starred_prompts(db, bob).items == ()
    assert prompts.get_prompt(db, fork.id).source_id is None
    assert prompts.get_prompt(db, source_of_mine.id).forks == 0
    assert {p.id for p in catalog.list_prompts(db, None, tag="gone").items} == {ids[2], fork.id}
    assert catalog.list_prompts(db, None, q="walrus0").items == ()
    assert index_is_consistent(db)


def test_one_request_is_few_short_transactions(db: Database, make_user) -> None:
    alice = make_user("alice")
    body = "A prompt long enough to weigh something. " * 60
    new = [
        prompts.weigh(uuid4(), {"title": f"Prompt {n}", "body": f"{body} word{n}", "tags": ["a", "b"]})
        for n in range(400)
    ]
    ids = list(db.write(lambda cur: prompts.insert_prompts(cur, alice, new)).values())
    for action, tag in [("make_public", None), ("add_tag", "c"), ("remove_tag", "a"), ("delete", None)]:
        db.lock_holds.reset()
        result = bulk.bulk_action(db, alice, ids, action, tag)
        assert result.count("changed") + result.count("deleted") == 400
        # Set-wise writes: a few batches for 400 prompts (one statement per prompt would need
        # 400 transactions to stay short), each hold far below the 0.1 s the design keeps
        # (CPU time, which a busy machine does not stretch; generous margins for slow ones).
        assert db.lock_holds.count <= 12, (action, db.lock_holds.count)
        assert db.lock_holds.longest_cpu < 0.25, (action, db.lock_holds.longest_cpu)
    assert db.fetchone("SELECT count(*) FROM prompts") == (0,)
    assert index_is_consistent(db)


def test_kept_answers_drop_for_the_prompts_written_and_only_then(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    ids = make_prompts(db, alice, 3, visibility="public")
    pages = [
        recorded(db, lambda i=i: freshness.prompt_state(db, i, None) and prompts.get_prompt(db, i))
        for i in ids
    ]
    bulk.bulk_action(db, bob, ids, "delete")  # not bob's: nothing written
    bulk.bulk_action(db, alice, ids, "make_public")  # already so
    bulk.bulk_action(db, alice, ids, "remove_tag", "absent")
    assert all(db.scopes.fresh(page) for page in pages)
    bulk.bulk_action(db, alice, ids[:1], "add_tag", "new")
    assert [db.scopes.fresh(page) for page in pages] == [False, True, True]
    bulk.bulk_action(db, alice, ids[1:2], "delete")
    assert [db.scopes.fresh(page) for page in pages[1:]] == [False, True]
