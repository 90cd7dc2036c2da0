"""Labels: set, moved, removed by the owner only; never a way to see a version saved while private."""

from __future__ import annotations

import pytest

from composite.db import Database
from composite.library import freshness, history, labels, prompts, stars, useradmin
from composite.library.errors import Conflict, Forbidden, Invalid, NotFound


@pytest.fixture
def people(make_user):
    """alice, who owns the prompts, and bob, who does not."""
    return make_user("alice"), make_user("bob")


@pytest.fixture
def three(db: Database, people) -> prompts.Prompt:
    """A public prompt of alice's at version 3."""
    alice, _ = people
    prompt = prompts.create_prompt(db, alice, title="Greeter", body="hello 1", visibility="public")
    prompts.update_prompt(db, prompt.id, alice, body="hello 2")
    return prompts.update_prompt(db, prompt.id, alice, body="hello 3")


def test_set_move_and_remove(db: Database, people, three: prompts.Prompt) -> None:
    alice, bob = people
    label, created = labels.set_label(db, three.id, "production", 1, alice)
    assert (label.name, label.version, created) == ("production", 1, True)
    assert labels.labelled_prompt(db, three.id, "production", bob.id).body == "hello 1"
    moved, created = labels.set_label(db, three.id, "production", 2, alice)
    assert (moved.version, created) == (2, False)
    assert moved.updated_at >= label.updated_at
    labels.set_label(db, three.id, "staging", 3, alice)
    assert [(x.name, x.version) for x in labels.list_labels(db, three.id)] == [
        ("production", 2),
        ("staging", 3),
    ]
    assert labels.by_version(labels.list_labels(db, three.id)) == {2: ["production"], 3: ["staging"]}
    labels.remove_label(db, three.id, "production", alice)
    assert [x.name for x in labels.list_labels(db, three.id)] == ["staging"]
    with pytest.raises(NotFound, match="has no label 'production'"):
        labels.remove_label(db, three.id, "production", alice)
    with pytest.raises(NotFound, match="has no label 'production'"):
        labels.labelled_prompt(db, three.id, "production")


def test_a_labelled_prompt_has_that_versions_content_and_the_prompts_visibility(
    db: Database, people, three: prompts.Prompt
) -> None:
    alice, _ = people
    labels.set_label(db, three.id, "production", 1, alice)
    old = labels.labelled_prompt(db, three.id, "production")
    first = history.get_version(db, three.id, 1)
    assert (old.body, old.version, old.updated_at) == ("hello 1", 1, first.created_at)
    assert (old.id, old.owner, old.created_at, old.visibility) == (
        three.id,
        "alice",
        three.created_at,
        "public",
    )


@pytest.mark.parametrize("name", ["", "Production", "prod_1", "pre prod", "a" * 33, "prod\n", "é", "../x"])
def test_names_are_a_to_z_digits_and_hyphens_of_bounded_length(
    db: Database, people, three: prompts.Prompt, name: str
) -> None:
    alice, _ = people
    with pytest.raises(Invalid) as refused:
        labels.set_label(db, three.id, name, 1, alice)
    assert "a-z, 0-9 and '-'" in refused.value.errors["name"]
    assert labels.list_labels(db, three.id) == []


@pytest.mark.parametrize("name", ["production", "v2", "canary-eu-1", "-", "a" * 32])
def test_good_names(db: Database, people, three: prompts.Prompt, name: str) -> None:
    alice, _ = people
    assert labels.set_label(db, three.id, name, 3, alice)[0].name == name


def test_a_prompt_holds_a_bounded_number_of_labels(db: Database, people, three: prompts.Prompt) -> None:
    alice, _ = people
    for number in range(labels.MAX_LABELS):
        labels.set_label(db, three.id, f"label-{number}", 1, alice)
    with pytest.raises(Conflict, match=f"at most {labels.MAX_LABELS} labels"):
        labels.set_label(db, three.id, "one-more", 1, alice)
    # Moving one of those it holds is still fine.
    assert labels.set_label(db, three.id, "label-0", 3, alice)[0].version == 3
    assert len(labels.list_labels(db, three.id)) == labels.MAX_LABELS


def test_only_the_owner_sets_or_removes_and_only_existing_versions(
    db: Database, people, three: prompts.Prompt
) -> None:
    alice, bob = people
    with pytest.raises(Forbidden):
        labels.set_label(db, three.id, "production", 1, bob)
    labels.set_label(db, three.id, "production", 1, alice)
    with pytest.raises(Forbidden):
        labels.remove_label(db, three.id, "production", bob)
    with pytest.raises(NotFound, match="has no version 4"):
        labels.set_label(db, three.id, "production", 4, alice)
    with pytest.raises(NotFound, match="no prompt 999"):
        labels.set_label(db, 999, "production", 1, alice)
    assert [(x.name, x.version) for x in labels.list_labels(db, three.id)] == [("production", 1)]


def test_a_label_on_a_version_saved_private_is_the_owners_only(db: Database, people) -> None:
    alice, bob = people
    prompt = prompts.create_prompt(db, alice, title="Plan", body="open text", visibility="public")
    prompts.update_prompt(db, prompt.id, alice, body="the secret draft", visibility="private")
    prompts.update_prompt(db, prompt.id, alice, body="open again", visibility="public")
    labels.set_label(db, prompt.id, "staging", 2, alice)
    labels.set_label(db, prompt.id, "production", 3, alice)
    assert labels.labelled_prompt(db, prompt.id, "staging", alice.id).body == "the secret draft"
    for viewer in (None, bob.id):
        assert [x.name for x in labels.list_labels(db, prompt.id, viewer)] == ["production"]
        # Told exactly what a missing label is told: its existence is not theirs to know.
        with pytest.raises(NotFound, match=r"^prompt \d+ has no label 'staging'$"):
            labels.labelled_prompt(db, prompt.id, "staging", viewer)
        state = freshness.prompt_state(db, prompt.id, viewer)
        assert [x.name for x in state.labels] == ["production"]
        # Nor does a version number asked for directly give it away.
        with pytest.raises(NotFound):
            labels.at_version(prompts.get_prompt(db, prompt.id), 2, db, viewer)
    # A prompt made private takes every label out of others' sight with it.
    prompts.update_prompt(db, prompt.id, alice, visibility="private")
    for viewer in (None, bob.id):
        with pytest.raises(NotFound, match="no prompt"):
            labels.list_labels(db, prompt.id, viewer)
        with pytest.raises(NotFound, match="no prompt"):
            freshness.prompt_state(db, prompt.id, viewer)


def test_the_state_changes_with_every_edit_star_and_label_and_only_then(
    db: Database, people, three: prompts.Prompt
) -> None:
    alice, bob = people
    seen = [freshness.prompt_state(db, three.id, None).parts()]
    assert freshness.prompt_state(db, three.id, None).parts() == seen[0]
    for change in (
        lambda: prompts.update_prompt(db, three.id, alice, title="Greeter 2"),
        lambda: stars.star(db, three.id, bob),
        lambda: labels.set_label(db, three.id, "production", 1, alice),
        lambda: labels.set_label(db, three.id, "production", 2, alice),
        lambda: prompts.update_prompt(db, three.id, alice, visibility="private"),
    ):
        change()
        seen.append(freshness.prompt_state(db, three.id, alice.id).parts())
    assert len(set(seen)) == len(seen)
    # An edit that changes nothing is no change; taking the label away again gives back
    # the state from before it was set, as the answer is the same again.
    prompts.update_prompt(db, three.id, alice, title="Greeter 2")
    assert freshness.prompt_state(db, three.id, alice.id).parts() == seen[-1]
    labels.remove_label(db, three.id, "production", alice)
    prompts.update_prompt(db, three.id, alice, visibility="public")
    assert freshness.prompt_state(db, three.id, alice.id).labels == []


def test_deleting_a_prompt_or_its_owner_deletes_its_labels(
    db: Database, people, three: prompts.Prompt
) -> None:
    alice, _ = people
    labels.set_label(db, three.id, "production", 1, alice)
    other = prompts.create_prompt(db, alice, title="Other", body="text", visibility="public")
    labels.set_label(db, other.id, "production", 1, alice)
    prompts.delete_prompt(db, three.id, alice)
    count = "SELECT count(*) FROM prompt_labels"
    assert db.fetchone(count) == (1,)
    useradmin.delete_user(db, "alice")
    assert db.fetchone(count) == (0,)
