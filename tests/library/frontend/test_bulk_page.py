"""Bulk actions on one's own page: tick prompts, choose an action, one form sent for all of them."""

from __future__ import annotations

import html
import re

from tests.library.frontend.conftest import AuthActions, NewBrowser


def notice(page: str) -> str | None:
    """The words of the bulk action's notice on a page, or None."""
    match = re.search(r'class="(?:notice|form-errors) bulk-notice" role="\w+"><p>(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else None


def boxes(page: str) -> list[int]:
    """The prompt ids with a box to tick on a page."""
    return [int(n) for n in re.findall(r'<input type="checkbox" name="ids" value="(\d+)" form="bulk">', page)]


def test_only_the_owner_gets_the_boxes_and_the_form(alice: AuthActions, new_browser: NewBrowser) -> None:
    ids = [alice.create_prompt(title=f"Note {n}") for n in range(2)]
    own = alice.client.get("/users/alice").text
    assert sorted(boxes(own)) == ids
    for prompt_id, title in zip(ids, ("Note 0", "Note 1"), strict=True):
        # Each box is named by its prompt (a screen reader says which one it ticks).
        assert f'value="{prompt_id}" form="bulk"> Select “{title}”</label>' in own
    assert '<label for="f-action">Action</label>' in own
    assert '<label for="f-tag">Tag</label>' in own
    assert own.count('<article class="card">') == 2
    visitor, bob = new_browser(), new_browser()
    bob.register("bob")
    for browser in (visitor, bob):
        page = browser.client.get("/users/alice").text
        assert boxes(page) == []
        assert 'id="bulk"' not in page
        assert page.count('<article class="card">') == 2


def test_make_public_in_one_post_with_a_notice(alice: AuthActions, new_browser: NewBrowser) -> None:
    ids = [alice.create_prompt(title=f"Secret {n}", visibility="private") for n in range(3)]
    response = alice.post("/prompts/bulk", {"action": "make_public", "ids": ids, "tag": "", "page": "1"})
    assert response.status_code == 303
    assert response.location == "/users/alice"
    page = alice.client.get(response.location).text
    assert notice(page) == "3 prompts made public."
    assert 'class="notice bulk-notice" role="status"' in page
    assert "Private</span>" not in page
    visitor = new_browser().client
    assert all(visitor.get(f"/prompts/{prompt_id}").status_code == 200 for prompt_id in ids)
    assert notice(alice.client.get("/users/alice").text) is None  # said once


def test_tags_added_and_removed_and_mistakes_said(alice: AuthActions, bob: AuthActions) -> None:
    mine = alice.create_prompt(title="Mine", tags="old")
    theirs = bob.create_prompt(title="Theirs", tags="old")
    response = alice.post("/prompts/bulk", {"action": "add_tag", "ids": [mine, theirs], "tag": "Fresh Fish"})
    assert notice(alice.client.get(response.location).text) == "1 prompt tagged “fresh-fish”; 1 not found."
    response = alice.post("/prompts/bulk", {"action": "remove_tag", "ids": [mine, theirs], "tag": "old"})
    assert notice(alice.client.get(response.location).text) == "1 prompt no longer tagged “old”; 1 not found."
    assert "fresh-fish" in alice.client.get(f"/prompts/{mine}").text
    assert alice.client.get("/tags/old").text.count('<article class="card">') == 1  # bob's stays
    assert alice.client.get("/search?q=old").text.count('<article class="card">') == 1

    response = alice.post("/prompts/bulk", {"action": "add_tag", "ids": [mine], "tag": ""})
    page = alice.client.get(response.location).text
    assert notice(page) == "Name the tag to add."
    assert 'class="form-errors bulk-notice" role="alert"' in page
    response = alice.post("/prompts/bulk", {"action": "make_public", "tag": ""})
    assert notice(alice.client.get(response.location).text) == "Choose at least one prompt."


def test_delete_asks_first_then_deletes_them_all(alice: AuthActions, bob: AuthActions) -> None:
    ids = [alice.create_prompt(title=f"Old {n}") for n in range(3)]
    theirs = bob.create_prompt(title="Bob's")
    asked = alice.post("/prompts/bulk", {"action": "delete", "ids": [*ids[:2], theirs], "page": "2"})
    assert asked.status_code == 200
    assert "<h1>Delete 2 prompts?</h1>" in asked.text
    assert re.findall(r"<li><a [^>]*>(.*?)</a></li>", asked.text) == ["Old 0", "Old 1"]
    assert "Bob's" not in asked.text
    assert all(alice.client.get(f"/prompts/{i}").status_code == 200 for i in ids)  # nothing yet

    form = dict(
        re.findall(r'<input type="hidden" name="(action|confirmed|page)" value="([^"]*)">', asked.text)
    )
    kept = [int(n) for n in re.findall(r'<input type="hidden" name="ids" value="(\d+)">', asked.text)]
    assert (form, kept) == ({"action": "delete", "confirmed": "1", "page": "2"}, ids[:2])
    done = alice.post("/prompts/bulk", {**form, "ids": kept})
    assert done.status_code == 303
    assert done.location == "/users/alice?page=2"  # back where the ticking was done
    assert notice(alice.client.get("/users/alice").text) == "2 prompts deleted."
    assert [alice.client.get(f"/prompts/{i}").status_code for i in ids] == [404, 404, 200]
    assert bob.client.get(f"/prompts/{theirs}").status_code == 200


def test_the_form_needs_its_csrf_token_and_a_login(alice: AuthActions, new_browser: NewBrowser) -> None:
    prompt_id = alice.create_prompt(visibility="private")
    forged = alice.client.post("/prompts/bulk", data={"action": "make_public", "ids": [prompt_id]})
    assert forged.status_code == 400
    visitor = new_browser()
    response = visitor.post("/prompts/bulk", {"action": "make_public", "ids": [prompt_id]})
    assert response.status_code == 302
    assert "/login" in response.location
    assert "Private</span>" in alice.client.get("/users/alice").text
