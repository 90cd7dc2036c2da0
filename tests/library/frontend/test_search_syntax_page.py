"""The search page explains the search syntax and applies it."""

from __future__ import annotations

from tests.library.frontend.conftest import AuthActions
from tests.library.frontend.test_search_page import text_of


def test_the_page_explains_the_syntax_and_applies_it(alice: AuthActions) -> None:
    alice.create_prompt(title="Linux Terminal", body="Act as a linux terminal.")
    alice.create_prompt(title="Terminal for Linux", body="A terminal: type commands as on linux.")
    page = text_of(alice.client.get("/search", query_string={"q": '"linux terminal"'}).text)
    assert "is:starred" in page
    assert "Linux Terminal" in page
    assert "Terminal for Linux" not in page
    starred = text_of(alice.client.get("/search", query_string={"q": "linux is:starred"}).text)
    assert "Linux Terminal" not in starred
