"""Versions keep the visibility they were saved with: private text stays private for good."""

from __future__ import annotations

import pytest

from composite.db import Database
from composite.library import history, prompts
from composite.library.errors import NotFound


@pytest.fixture
def people(make_user):
    """alice, who owns the prompts, and bob, who does not."""
    return make_user("alice"), make_user("bob")


def test_a_version_saved_private_stays_hidden_after_the_prompt_is_made_public(db: Database, people) -> None:
    alice, bob = people
    prompt = prompts.create_prompt(db, alice, title="Plan", body="the secret", visibility="private")
    prompts.update_prompt(db, prompt.id, alice, body="nothing to see", visibility="public")
    prompts.update_prompt(db, prompt.id, alice, title="Plan, final")
    for viewer in (None, bob.id):
        assert [v.version for v in history.list_versions(db, prompt.id, viewer).items] == [3, 2]
        assert history.version_numbers(db, prompt.id, viewer) == [3, 2]
        with pytest.raises(NotFound, match="has no version 1"):
            history.get_version(db, prompt.id, 1, viewer)
        assert history.previous_version(db, prompt.id, 3, viewer) == 2
        assert history.previous_version(db, prompt.id, 2, viewer) is None
    assert [v.version for v in history.list_versions(db, prompt.id, alice.id).items] == [3, 2, 1]
    assert history.get_version(db, prompt.id, 1, alice.id).body == "the secret"
    assert history.previous_version(db, prompt.id, 2, alice.id) == 1


def test_others_see_the_public_versions_around_a_private_stretch(db: Database, people) -> None:
    alice, bob = people
    prompt = prompts.create_prompt(db, alice, title="Plan", body="open text", visibility="public")
    prompts.update_prompt(db, prompt.id, alice, body="a secret draft", visibility="private")
    prompts.update_prompt(db, prompt.id, alice, body="open again", visibility="public")
    assert history.version_numbers(db, prompt.id, bob.id) == [3, 1]
    assert history.previous_version(db, prompt.id, 3, bob.id) == 1
    assert "secret" not in repr(history.list_versions(db, prompt.id, bob.id))


def test_restore_never_changes_visibility(db: Database, people) -> None:
    alice, bob = people
    prompt = prompts.create_prompt(db, alice, title="Open", body="public words", visibility="public")
    prompts.update_prompt(db, prompt.id, alice, body="now private", visibility="private")
    restored = history.restore_version(db, prompt.id, 1, alice)
    assert (restored.version, restored.body, restored.visibility) == (3, "public words", "private")
    with pytest.raises(NotFound):
        prompts.get_prompt(db, prompt.id, bob.id)
    with pytest.raises(NotFound):
        history.get_version(db, prompt.id, 1, bob.id)
    # And the other way: the owner brings back private text into a public prompt on purpose;
    # the prompt stays public and the old private version itself stays hidden.
    prompts.update_prompt(db, prompt.id, alice, body="public once more", visibility="public")
    again = history.restore_version(db, prompt.id, 2, alice)
    assert (again.body, again.visibility) == ("now private", "public")
    assert history.version_numbers(db, prompt.id, bob.id) == [5, 4, 1]


def test_a_long_history_is_read_a_page_at_a_time(db: Database, people) -> None:
    alice, _ = people
    prompt = prompts.create_prompt(db, alice, title="Many", body="edit 0", visibility="public")
    for number in range(1, 130):
        prompts.update_prompt(db, prompt.id, alice, body=f"edit {number}")
    first = history.list_versions(db, prompt.id, None)
    assert (len(first.items), first.total) == (history.HISTORY_PAGE, 130)
    assert first.items[0].version == 130
    last = history.list_versions(db, prompt.id, None, limit=100, offset=100)
    assert [v.version for v in last.items] == list(range(30, 0, -1))
    # However much is asked for, one page holds at most MAX_HISTORY_PAGE versions.
    assert len(history.list_versions(db, prompt.id, None, limit=10**6).items) == history.MAX_HISTORY_PAGE
    assert len(history.version_numbers(db, prompt.id, None)) == min(130, history.MAX_VERSION_CHOICES)
