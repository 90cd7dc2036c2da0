"""History pages: versions, one old version, diffs between two, restore."""

from __future__ import annotations

import pytest

from tests.library.frontend.conftest import AuthActions, NewBrowser


@pytest.fixture
def edited(alice: AuthActions) -> int:
    """A prompt of alice's with three versions."""
    prompt_id = alice.create_prompt(title="Draft", body="line one\nline two", tags="a")
    alice.edit_prompt(prompt_id, body="line one\nline 2\nline three")
    alice.edit_prompt(prompt_id, title="Final", tags="a, b")
    return prompt_id


def test_history_lists_every_version_newest_first(alice: AuthActions, edited: int) -> None:
    page = alice.client.get(f"/prompts/{edited}/history")
    assert page.status_code == 200
    text = page.text
    assert text.index("Version 3") < text.index("Version 2") < text.index("Version 1")
    assert "3 versions" in text
    assert f'href="/prompts/{edited}/diff?to=2"' in text


def test_a_long_history_is_paged(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Many", body="edit 0")
    for number in range(1, 25):
        alice.edit_prompt(prompt_id, body=f"edit {number}")
    first = alice.client.get(f"/prompts/{prompt_id}/history").text
    assert "25 versions" in first
    assert "Version 25" in first
    assert "Version 5<" not in first
    assert 'rel="next"' in first
    second = alice.client.get(f"/prompts/{prompt_id}/history?page=2").text
    assert "Version 5<" in second
    assert "Version 25" not in second


def test_one_old_version(alice: AuthActions, edited: int) -> None:
    page = alice.client.get(f"/prompts/{edited}/versions/1")
    assert page.status_code == 200
    assert "Draft" in page.text
    assert "line one\nline two</pre>" in page.text
    assert "Restore this version" in page.text
    current = alice.client.get(f"/prompts/{edited}/versions/3").text
    assert "Restore this version" not in current
    assert alice.client.get(f"/prompts/{edited}/versions/9").status_code == 404


def test_diff_defaults_to_the_latest_against_the_one_before(alice: AuthActions, edited: int) -> None:
    page = alice.client.get(f"/prompts/{edited}/diff")
    assert page.status_code == 200
    assert '<th scope="row">title</th><td class="del">Draft</td><td class="add">Final</td>' in page.text
    assert '<td class="del">a</td><td class="add">a, b</td>' in page.text
    assert "The prompt text is the same in both versions." in page.text


def test_diff_of_a_selected_version_shows_lines_added_and_removed(alice: AuthActions, edited: int) -> None:
    page = alice.client.get(f"/prompts/{edited}/diff?to=2").text
    assert 'Unchanged: </span><span class="text">line one</span>' in page
    # "line two" and "line 2" side by side, the word that differs marked; "line three" whole.
    assert 'Removed: </span><span class="text">line <del>two</del></span>' in page
    assert 'Added: </span><span class="text">line <ins>2</ins></span>' in page
    assert 'Added: </span><span class="text">line three</span>' in page
    assert page.count('<div class="diff-row ') == 3
    both = alice.client.get(f"/prompts/{edited}/diff?from=1&to=3").text
    assert "line three" in both
    assert '<td class="del">Draft</td>' in both


def test_diff_of_the_first_version_has_nothing_to_compare(alice: AuthActions, edited: int) -> None:
    page = alice.client.get(f"/prompts/{edited}/diff?to=1")
    assert page.status_code == 200
    assert "Version 1 is the first version" in page.text


@pytest.mark.parametrize(
    ("query", "status"),
    [("to=7", 404), ("from=7&to=2", 404), ("to=99999999999999999999", 200), ("to=abc", 200)],
)
def test_diff_of_missing_versions(alice: AuthActions, edited: int, query: str, status: int) -> None:
    # A number that cannot be a version falls back to the default comparison.
    assert alice.client.get(f"/prompts/{edited}/diff?{query}").status_code == status


def test_restore_makes_an_old_version_current_as_a_new_one(alice: AuthActions, edited: int) -> None:
    response = alice.post(f"/prompts/{edited}/versions/1/restore")
    assert response.status_code == 302
    assert response.location == f"/prompts/{edited}"
    page = alice.client.get(f"/prompts/{edited}").text
    assert "<h1>Draft" in page
    assert "version 4" in page
    assert "line one\nline two</textarea>" in page
    assert alice.post(f"/prompts/{edited}/versions/8/restore").status_code == 404


@pytest.mark.parametrize("path", ["history", "versions/1", "versions/2", "diff", "diff?from=1&to=2"])
def test_history_of_a_private_prompt_is_hidden_from_others(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser, path: str
) -> None:
    prompt_id = alice.create_prompt(title="Secret plan", body="step one", visibility="private")
    alice.edit_prompt(prompt_id, body="step two")
    assert alice.client.get(f"/prompts/{prompt_id}/{path}").status_code == 200
    for browser in (bob, new_browser()):
        response = browser.client.get(f"/prompts/{prompt_id}/{path}")
        assert response.status_code == 404
        assert "Secret plan" not in response.text
        assert "step" not in response.text


def test_history_of_a_public_prompt_is_open_to_visitors(
    alice: AuthActions, edited: int, new_browser: NewBrowser
) -> None:
    visitor = new_browser().client
    for path in ("history", "versions/1", "diff"):
        page = visitor.get(f"/prompts/{edited}/{path}")
        assert page.status_code == 200
        assert "Restore this version" not in page.text


@pytest.fixture
def published_later(alice: AuthActions) -> int:
    """A prompt of alice's saved private with a secret (version 1), then made public without it."""
    prompt_id = alice.create_prompt(title="Plan", body="the secret is 42", visibility="private")
    assert alice.edit_prompt(prompt_id, body="nothing to see", visibility="public").status_code == 302
    return prompt_id


def test_a_version_saved_private_stays_private_on_every_page(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser, published_later: int
) -> None:
    base = f"/prompts/{published_later}"
    for browser in (bob, new_browser()):
        history_page = browser.client.get(f"{base}/history")
        assert history_page.status_code == 200
        assert "1 version." in history_page.text
        assert "shown to its owner only" in history_page.text
        assert f'href="{base}/versions/1"' not in history_page.text
        for path in ("versions/1", "diff?from=1&to=2", "diff?from=2&to=1", "diff?from=1"):
            page = browser.client.get(f"{base}/{path}")
            assert page.status_code == 404, path
            assert "secret" not in page.text
        default = browser.client.get(f"{base}/diff")
        assert default.status_code == 200
        assert "Version 2 is the first version you can see" in default.text
        assert '<option value="1"' not in default.text
        current = (browser.client.get(base), browser.client.get(f"{base}/versions/2"))
        for page in (history_page, default, *current):
            assert "secret" not in page.text
    owner = alice.client.get(f"{base}/diff").text
    assert "the secret is 42" in owner
    assert "shown to its owner only" not in alice.client.get(f"{base}/history").text


def test_restore_on_the_website_keeps_the_prompt_private(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(title="Open", body="public words")
    alice.edit_prompt(prompt_id, body="private words", visibility="private")
    assert alice.post(f"/prompts/{prompt_id}/versions/1/restore").status_code == 302
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert "public words</textarea>" in page
    assert '<span class="badge">Private</span>' in page
    for browser in (bob, new_browser()):
        for path in ("", "/history", "/versions/1", "/versions/3", "/diff"):
            assert browser.client.get(f"/prompts/{prompt_id}{path}").status_code == 404, path


def test_a_coarse_diff_says_so(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(body="".join(f"x{k}\nc\n" for k in range(5000)))
    alice.edit_prompt(prompt_id, body="".join(f"y{k}\nc\n" for k in range(5000)))
    page = alice.client.get(f"/prompts/{prompt_id}/diff").text
    assert "differ too much to be compared line by line" in page
    # Pairs are compared word by word while the budget lasts; the rest are one row, whole.
    assert "Some changed lines are shown whole" in page
    assert page.count('<div class="diff-row ') < 1100


def test_a_word_changed_in_a_paragraph_is_marked_inside_it(alice: AuthActions) -> None:
    paragraph = "Act as a <b>travel</b> guide & suggest a museum near me. " * 8
    prompt_id = alice.create_prompt(body=paragraph + "Answer briefly.")
    alice.edit_prompt(prompt_id, body=paragraph + "Answer in detail.")
    page = alice.client.get(f"/prompts/{prompt_id}/diff").text
    escaped = paragraph.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'Removed: </span><span class="text">{escaped}Answer <del>briefly</del>.</span>' in page
    assert f'Added: </span><span class="text">{escaped}Answer <ins>in detail</ins>.</span>' in page
    assert "<b>" not in page
    assert "Some changed lines are shown whole" not in page
