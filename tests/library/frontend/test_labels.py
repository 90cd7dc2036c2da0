"""Labels on the history page: shown next to versions; the owner sets, moves and removes them."""

from __future__ import annotations

import html
import re

import pytest

from tests.library.frontend.conftest import AuthActions, NewBrowser, field_error, field_value


@pytest.fixture
def three(alice: AuthActions) -> int:
    """A public prompt of alice's with three versions."""
    prompt_id = alice.create_prompt(title="Greeter", body="Hello 1")
    alice.edit_prompt(prompt_id, body="Hello 2")
    alice.edit_prompt(prompt_id, body="Hello 3")
    return prompt_id


def badges(html: str) -> dict[int, list[str]]:
    """The labels shown next to each version of the history list."""
    shown: dict[int, list[str]] = {}
    for item in re.findall(r'<li class="version">(.*?)</li>', html, re.S):
        number = int(re.search(r"Version (\d+)", item).group(1))  # type: ignore[union-attr]
        shown[number] = re.findall(r'<span class="badge label" title="label">([^<]*)</span>', item)
    return shown


def set_label(browser: AuthActions, prompt_id: int, name: str, version: str) -> object:
    """Submit the history page's label form."""
    return browser.post(f"/prompts/{prompt_id}/labels", {"name": name, "version": version})


def test_the_owner_sets_moves_and_removes_a_label(alice: AuthActions, three: int) -> None:
    history = f"/prompts/{three}/history"
    form = alice.client.get(history).text
    assert f'action="/prompts/{three}/labels"' in form
    assert field_value(form, "version") == "3"  # the current version unless told otherwise
    response = set_label(alice, three, "production", "1")
    assert (response.status_code, response.location) == (302, history)
    assert badges(alice.client.get(history).text) == {3: [], 2: [], 1: ["production"]}
    set_label(alice, three, "staging", "3")
    set_label(alice, three, "production", "2")
    page = alice.client.get(history).text
    assert badges(page) == {3: ["staging"], 2: ["production"], 1: []}
    assert 'Remove<span class="visually-hidden"> label production</span>' in page
    removed = alice.post(f"/prompts/{three}/labels/production/remove")
    assert (removed.status_code, removed.location) == (302, history)
    assert badges(alice.client.get(history).text) == {3: ["staging"], 2: [], 1: []}
    assert alice.post(f"/prompts/{three}/labels/production/remove").status_code == 404


@pytest.mark.parametrize(
    ("name", "version", "field", "message"),
    [
        ("Production", "1", "name", "a-z, 0-9 and '-'"),
        ("", "1", "name", "a-z, 0-9 and '-'"),
        ("x" * 33, "1", "name", "a-z, 0-9 and '-'"),
        ("production", "9", "version", "there is no version 9"),
        ("production", "0", "version", "one of the versions"),
        ("production", "two", "version", "one of the versions"),
        ("production", "9" * 40, "version", "one of the versions"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_kept(
    alice: AuthActions, three: int, name: str, version: str, field: str, message: str
) -> None:
    response = set_label(alice, three, name, version)
    assert response.status_code == 422
    assert message in html.unescape(field_error(response.text, field) or "")
    assert html.unescape(field_value(response.text, "name") or "") == name
    assert 'aria-invalid="true"' in response.text
    assert "production" not in badges(response.text).get(1, [])


def test_a_prompt_holds_a_bounded_number_of_labels(alice: AuthActions, three: int) -> None:
    from composite.library.labels import MAX_LABELS

    for number in range(MAX_LABELS):
        assert set_label(alice, three, f"l{number}", "1").status_code == 302
    refused = set_label(alice, three, "one-more", "1")
    assert refused.status_code == 422
    assert "at most" in (field_error(refused.text, "name") or "")


def test_others_see_the_labels_but_no_forms(alice: AuthActions, three: int, bob: AuthActions) -> None:
    set_label(alice, three, "production", "2")
    page = bob.client.get(f"/prompts/{three}/history").text
    assert badges(page)[2] == ["production"]
    assert "Set label" not in page
    assert "/labels/production/remove" not in page
    # And the routes refuse them: 403 for a prompt they can see, before reading the form.
    assert set_label(bob, three, "production", "1").status_code == 403
    assert set_label(bob, three, "Bad Name", "x").status_code == 403
    assert bob.post(f"/prompts/{three}/labels/production/remove").status_code == 403
    assert badges(alice.client.get(f"/prompts/{three}/history").text)[2] == ["production"]


def test_visitors_are_sent_to_log_in_and_strangers_told_nothing(
    alice: AuthActions, three: int, new_browser: NewBrowser
) -> None:
    secret = alice.create_prompt(title="Secret", body="text", visibility="private")
    visitor = new_browser()
    assert set_label(visitor, three, "production", "1").location.startswith("/login")
    # A visitor sees labels with no forms; without labels, no section at all.
    assert "Labels</h2>" not in visitor.client.get(f"/prompts/{three}/history").text
    carol = new_browser()
    carol.register("carol")
    assert set_label(carol, secret, "production", "1").status_code == 404


def test_the_forms_need_the_csrf_token(alice: AuthActions, three: int) -> None:
    refused = alice.client.post(f"/prompts/{three}/labels", data={"name": "production", "version": "1"})
    assert refused.status_code == 400
    assert badges(alice.client.get(f"/prompts/{three}/history").text)[1] == []


def test_a_label_on_a_version_saved_private_is_not_shown_to_others(
    alice: AuthActions, bob: AuthActions
) -> None:
    prompt_id = alice.create_prompt(title="Plan", body="open text")
    alice.edit_prompt(prompt_id, body="the secret draft", visibility="private")
    alice.edit_prompt(prompt_id, body="open again", visibility="public")
    set_label(alice, prompt_id, "staging", "2")
    assert badges(alice.client.get(f"/prompts/{prompt_id}/history").text)[2] == ["staging"]
    page = bob.client.get(f"/prompts/{prompt_id}/history").text
    assert "staging" not in page
    assert badges(page) == {3: [], 1: []}
