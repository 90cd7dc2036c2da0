"""The search page: highlighted matches, safe HTML, the API's filters, and what was searched for."""

from __future__ import annotations

import re

from tests.library.frontend.conftest import AuthActions


def text_of(html: str) -> str:
    """The page's text with the markup (and so the highlighting) taken out."""
    return re.sub(r"<[^>]+>", "", html)


def test_matches_are_highlighted_and_everything_else_escaped(alice: AuthActions) -> None:
    hostile = "<script>alert('owl')</script>"
    alice.create_prompt(title=f"Owl {hostile}", body=f"All about owls. {hostile} <b>bold</b>")
    page = alice.client.get("/search", query_string={"q": "owl <script>"}).text
    assert "<script>" not in page.split("<main", 1)[-1].split("</main>", 1)[0].replace("<script src", "")
    assert "<mark>Owl</mark> &lt;<mark>script</mark>&gt;" in page
    assert "All about <mark>owls</mark>." in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "<b>bold</b>" not in page


def test_the_excerpt_shows_the_match_deep_in_a_long_body(alice: AuthActions) -> None:
    alice.create_prompt(
        title="Long one", body="filler words " * 200 + "the narwhal appears here " + "tail " * 50
    )
    page = alice.client.get("/search?q=narwhal").text
    assert "<mark>narwhal</mark> appears here" in page
    assert "… " in page


def test_search_takes_tag_author_and_sort_and_shows_them(alice: AuthActions, bob: AuthActions) -> None:
    alice.create_prompt(title="SQL joins", body="Explain joins", tags="sql, for-devs")
    alice.create_prompt(title="SQL for managers", body="Explain SQL simply", tags="sql")
    bob.create_prompt(title="SQL window functions", body="sql windows", tags="for-devs")
    html = alice.client.get("/search?q=sql&tag=for-devs").text
    page = text_of(html)
    assert "SQL joins" in page
    assert "SQL window functions" in page
    assert "SQL for managers" not in page
    assert "tagged <strong>for-devs</strong>" in html
    assert 'value="for-devs"' in html
    by_bob = alice.client.get("/search?q=sql&tag=for-devs&author=bob&sort=new").text
    assert "SQL window functions" in text_of(by_bob)
    assert "SQL joins" not in text_of(by_bob)
    assert "by <strong>bob</strong>" in by_bob
    bad = alice.client.get("/search?q=sql&tag=no+spaces!")
    assert bad.status_code == 422
    assert "Tags are letters" in bad.text


def test_a_typo_says_what_was_searched_for(alice: AuthActions) -> None:
    alice.create_prompt(title="Translate to German", body="Translate this text.")
    page = text_of(alice.client.get("/search?q=transalte").text)
    assert "Showing results for translate" in page
    assert "Translate to German" in page


def test_a_stop_word_query_says_so(alice: AuthActions) -> None:
    alice.create_prompt(title="The owl", body="The the the")
    page = alice.client.get("/search?q=the").text
    assert "very common words" in page
    assert "Try fewer or other words" not in page
