"""A prompt's pages: create, view and fill, edit, delete, star, and who may do what."""

from __future__ import annotations

import re

import pytest

from composite.library.placeholders import FILL_VALUE_MAX, FILLED_MAX
from composite.library.rules import BODY_MAX
from tests.library.frontend.conftest import AuthActions, NewBrowser, field_error, field_value


def test_new_prompt_form_renders_for_members(alice: AuthActions) -> None:
    page = alice.client.get("/prompts/new")
    assert page.status_code == 200
    for name in ("title", "description", "body", "tags", "model_hint"):
        assert f'id="f-{name}"' in page.text
    assert 'value="private" checked' in page.text  # new prompts are private unless chosen
    assert 'value="public" checked' not in page.text


def test_create_prompt_and_see_it(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(
        title="Summarise",
        body="Summarise {{text}} for {{audience}}.",
        description="Short summaries",
        tags="Writing, Language  Learning",
        model_hint="any chat model",
    )
    page = alice.client.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200
    assert "<h1>Summarise" in page.text
    assert "Short summaries" in page.text
    assert 'href="/tags/writing"' in page.text
    assert 'href="/tags/language-learning"' in page.text  # commas split, spaces become '-'
    assert "for any chat model" in page.text
    assert "version 1" in page.text


def test_a_prompt_page_carries_open_graph_tags(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Tom & Jerry", body="Chase {{x}}", description='A "quoted" chase')
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert '<meta property="og:type" content="article">' in page
    assert '<meta property="og:title" content="Tom &amp; Jerry">' in page
    assert '<meta property="og:description" content="A &#34;quoted&#34; chase">' in page
    assert '<meta name="description" content="A &#34;quoted&#34; chase">' in page


def test_create_prompt_errors_next_to_each_field_with_input_kept(alice: AuthActions) -> None:
    page = alice.post(
        "/prompts/new",
        {"title": "  ", "body": "Keep <this> body", "tags": "ok, not a tag!", "visibility": "public"},
    )
    assert page.status_code == 422
    assert "1-200 characters" in (field_error(page.text, "title") or "")
    assert "is not a tag" in (field_error(page.text, "tags") or "")
    assert field_value(page.text, "body") == "Keep &lt;this&gt; body"
    assert field_value(page.text, "tags") == "ok, not a tag!"
    assert field_error(page.text, "body") is None


def test_create_prompt_refuses_a_bad_visibility(alice: AuthActions) -> None:
    page = alice.post("/prompts/new", {"title": "T", "body": "B", "visibility": "secret"})
    assert page.status_code == 422
    assert "public" in (field_error(page.text, "visibility") or "")


def test_visitors_see_public_prompts_with_a_login_link_to_star(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(title="Open to all")
    visitor = new_browser().client
    page = visitor.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200
    assert "Open to all" in page.text
    assert f'href="/login?next=/prompts/{prompt_id}&amp;then=star:{prompt_id}"' in page.text
    assert "/edit" not in page.text


def test_placeholders_become_fields_and_fill_the_text(alice: AuthActions, new_browser: NewBrowser) -> None:
    prompt_id = alice.create_prompt(body="Write about {{topic}} for {{ audience }}. {{topic}} again.")
    visitor = new_browser().client
    empty = visitor.get(f"/prompts/{prompt_id}").text
    assert 'name="topic"' in empty
    assert 'name="audience"' in empty
    assert empty.count('name="topic"') == 1
    assert "Write about {{topic}} for {{ audience }}." in empty

    filled = visitor.get(f"/prompts/{prompt_id}", query_string={"topic": "owls", "audience": "<kids>"}).text
    assert '<textarea id="prompt-text" class="prompt-text" readonly' in filled
    assert "Write about owls for &lt;kids&gt;. owls again.</textarea>" in filled
    assert re.search(r'<input type="text" id="ph-1" name="topic"[^>]* value="owls">', filled)
    assert 'data-copy="prompt-text" hidden' in filled  # the copy button appears only with JavaScript

    partial = visitor.get(f"/prompts/{prompt_id}", query_string={"topic": "owls"}).text
    assert "Write about owls for {{ audience }}." in partial


def test_a_fill_that_would_make_a_huge_page_is_refused_and_the_prompt_still_shown(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    # 10,000 uses of one placeholder and a 10,000-character value: 100 million
    # characters, 400 MB once escaped, if it were filled in.
    prompt_id = alice.create_prompt(body="{{a}}" * (BODY_MAX // 5))
    visitor = new_browser().client
    page = visitor.get(f"/prompts/{prompt_id}", query_string={"a": "<" * FILL_VALUE_MAX})
    assert page.status_code == 422
    assert len(page.data) < 5 * FILLED_MAX
    assert "The text was not filled in: the filled-in text would be 100,000,000 characters" in page.text
    assert ">" + "{{a}}" * (BODY_MAX // 5) + "</textarea>" in page.text  # the prompt as it is
    assert 'name="a"' in page.text  # the form is still there to try shorter values

    within = visitor.get(f"/prompts/{prompt_id}", query_string={"a": "<" * (FILLED_MAX // 10_000)})
    assert within.status_code == 200
    assert "not filled in" not in within.text
    assert "&lt;" * FILLED_MAX in within.text


def test_edit_form_is_prefilled_and_saves_a_new_version(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="First", body="One", tags="a, b")
    form = alice.client.get(f"/prompts/{prompt_id}/edit")
    assert form.status_code == 200
    assert field_value(form.text, "title") == "First"
    assert field_value(form.text, "tags") == "a, b"
    response = alice.edit_prompt(prompt_id, title="Second", body="Two")
    assert response.status_code == 302
    assert response.location == f"/prompts/{prompt_id}"
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert "<h1>Second" in page
    assert "version 2" in page


def test_edit_errors_keep_the_input(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="First", body="One")
    page = alice.edit_prompt(prompt_id, title="x" * 201, body="Changed body")
    assert page.status_code == 422
    assert field_error(page.text, "title") == "has 201 characters; at most 200"
    assert field_value(page.text, "title") == "x" * 201
    assert field_value(page.text, "body") == "Changed body"
    assert "version 1" in alice.client.get(f"/prompts/{prompt_id}").text


def test_delete_asks_first_then_removes_the_prompt(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Doomed")
    confirm = alice.client.get(f"/prompts/{prompt_id}/delete")
    assert confirm.status_code == 200
    assert "Delete “Doomed”?" in confirm.text
    response = alice.post(f"/prompts/{prompt_id}/delete")
    assert response.status_code == 302
    assert response.location == "/users/alice"
    assert alice.client.get(f"/prompts/{prompt_id}").status_code == 404


def test_star_and_unstar_count_once(alice: AuthActions, bob: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Starry")
    assert bob.post(f"/prompts/{prompt_id}/star").status_code == 302
    bob.post(f"/prompts/{prompt_id}/star")
    page = bob.client.get(f"/prompts/{prompt_id}").text
    assert "★ Starred" in page
    assert '<span class="count">1</span>' in page
    alice.post(f"/prompts/{prompt_id}/star")
    assert '<span class="count">2</span>' in alice.client.get(f"/prompts/{prompt_id}").text
    bob.post(f"/prompts/{prompt_id}/unstar")
    page = bob.client.get(f"/prompts/{prompt_id}").text
    assert "☆ Star" in page
    assert '<span class="count">1</span>' in page


def test_visitors_are_sent_to_login_to_star(alice: AuthActions, new_browser: NewBrowser) -> None:
    prompt_id = alice.create_prompt()
    visitor = new_browser()
    response = visitor.post(f"/prompts/{prompt_id}/star")
    assert response.status_code == 302
    assert response.location.startswith("/login")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/prompts/{id}/edit"),
        ("post", "/prompts/{id}/edit"),
        ("get", "/prompts/{id}/delete"),
        ("post", "/prompts/{id}/delete"),
        ("post", "/prompts/{id}/versions/1/restore"),
    ],
)
@pytest.mark.parametrize(("visibility", "status"), [("public", 403), ("private", 404)])
def test_someone_elses_prompt_cannot_be_changed(
    alice: AuthActions, bob: AuthActions, method: str, path: str, visibility: str, status: int
) -> None:
    prompt_id = alice.create_prompt(title="Alice's own", visibility=visibility)
    alice.edit_prompt(prompt_id, body="Second version")
    url = path.format(id=prompt_id)
    data = {"title": "Hijacked", "body": "x", "visibility": "public"}
    response = bob.client.get(url) if method == "get" else bob.post(url, data)
    assert response.status_code == status
    assert "Hijacked" not in response.text
    if visibility == "private":
        assert "Alice's own" not in response.text
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert "Alice&#39;s own" in page
    assert "version 2" in page


def test_private_prompts_are_for_their_owner_alone(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(title="Diary", visibility="private")
    page = alice.client.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200
    assert "Private" in page.text
    assert bob.client.get(f"/prompts/{prompt_id}").status_code == 404
    visitor = new_browser().client
    missing = visitor.get(f"/prompts/{prompt_id}")
    assert missing.status_code == 404
    assert "Diary" not in missing.text
    assert bob.post(f"/prompts/{prompt_id}/star").status_code == 404


def test_html_in_a_prompt_is_shown_verbatim(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(
        title="<script>alert(1)</script>", body="' OR 1=1; -- <b>{{x}}</b>", description="<i>hi</i>"
    )
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&#39; OR 1=1; -- &lt;b&gt;{{x}}&lt;/b&gt;" in page
    assert "&lt;i&gt;hi&lt;/i&gt;" in page
    home = alice.client.get("/").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home
    assert "<script>alert" not in home


def test_the_page_says_how_many_names_inside_code_are_not_fields(alice: AuthActions) -> None:
    body = "Write about {{topic}}.\n\n```yaml\nname: ${APP}\nimage: {{image}}\n```\n"
    prompt_id = alice.create_prompt(title="Deploy", body=body, visibility="public")
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert "2 names inside code are not fields: text in code is kept as written." in page
    plain = alice.create_prompt(title="Plain", body="Write about {{topic}}.", visibility="public")
    assert "inside code" not in alice.client.get(f"/prompts/{plain}").text
