"""Finding prompts: home, search, tags, user pages, and private prompts kept out of them."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from composite.db import Database
from composite.library.accounts import User
from tests.library.frontend.conftest import AuthActions, NewBrowser, field_error


def test_home_renders_for_visitors_and_members(alice: AuthActions, new_browser: NewBrowser) -> None:
    alice.create_prompt(title="Older", tags="writing")
    popular = alice.create_prompt(title="Popular", tags="writing, code")
    alice.post(f"/prompts/{popular}/star")
    for client in (alice.client, new_browser().client):
        page = client.get("/")
        assert page.status_code == 200
        newest, starred = page.text.split("<h2>Most starred</h2>")
        assert newest.index("Popular") < newest.index("Older")
        assert starred.index("Popular") < starred.index("Older")
        assert 'class="tag size-5" href="/tags/writing">writing <span class="count">2</span>' in page.text


def test_home_previews_each_listing_and_links_to_it_without_a_pager(
    alice: AuthActions, db: Database, make_user: Callable[[str], User]
) -> None:
    from composite.library.prompts import create_prompt

    carol = make_user("carol")
    for number in range(30):
        create_prompt(db, carol, title=f"Bulk {number:02d}", body="bulk", visibility="public")
    for path in ("/", "/?page=2"):
        page = alice.client.get(path).text
        assert 'class="pagination"' not in page  # a pager on home went nowhere
        assert "Page 1 of" not in page
        assert '<a href="/search?sort=new">See all newest →</a>' in page
        assert '<a href="/search?sort=stars">See all most starred →</a>' in page
    listing = alice.client.get("/search?sort=new").text
    assert listing.count('aria-label="Pages"') == 1  # one landmark of each name
    assert "Page 1 of 2" in listing


def test_every_page_has_a_meta_description(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Greeting", body="Hello {{name}}, how are you today?", tags="hello")
    for path in (
        "/",
        "/search?q=hello",
        "/tags",
        "/tags/hello",
        "/users/alice",
        f"/prompts/{prompt_id}",
        "/login",
    ):
        page = alice.client.get(path).text
        assert re.search(r'<meta name="description" content="[^"]{20,}">', page), path


def test_search_results_have_a_heading_between_the_title_and_the_cards(alice: AuthActions) -> None:
    alice.create_prompt(title="Owl facts", body="owls")
    page = alice.client.get("/search?q=owl").text
    assert re.search(r'<h2 class="result-count">1 prompt found for “owl”</h2>', page)
    assert '<h3 class="card-title">' in page
    tag_page = alice.client.get("/tags/hello").text
    assert "<h3" not in tag_page


def test_empty_home_says_so(frontend_client: FlaskClient) -> None:
    page = frontend_client.get("/")
    assert page.status_code == 200
    assert "No prompts yet" in page.text
    assert "No tags yet" in page.text


def test_search_finds_the_best_match_first(alice: AuthActions) -> None:
    alice.create_prompt(title="Cooking ideas", body="Suggest a dinner")
    alice.create_prompt(title="Owl facts", body="Tell me about owls and their habits")
    alice.create_prompt(title="Birds", body="Something on owls")
    page = alice.client.get("/search?q=owl+facts")
    assert page.status_code == 200
    assert "2 prompts found" in page.text
    assert page.text.index("<mark>Owl</mark> <mark>facts</mark>") < page.text.index("Birds")
    assert "Cooking" not in page.text
    assert 'value="owl facts"' in page.text
    none = alice.client.get("/search?q=zebra").text
    assert "Nothing matches" in none


def test_search_sorts_and_lists_everything_without_words(alice: AuthActions) -> None:
    first = alice.create_prompt(title="First owl")
    alice.create_prompt(title="Second owl")
    alice.post(f"/prompts/{first}/star")
    by_stars = alice.client.get("/search?q=owl&sort=stars").text
    assert by_stars.index("First <mark>owl</mark>") < by_stars.index("Second <mark>owl</mark>")
    assert '<option value="stars" selected>' in by_stars
    newest = alice.client.get("/search?sort=new").text
    assert "<h1>All prompts</h1>" in newest
    assert newest.index("Second owl") < newest.index("First owl")
    unknown_sort = alice.client.get("/search?q=owl&sort=nonsense")
    assert unknown_sort.status_code == 200


def test_search_refuses_an_overlong_query_next_to_the_field(frontend_client: FlaskClient) -> None:
    page = frontend_client.get("/search", query_string={"q": "x" * 10_000})
    assert page.status_code == 422
    assert "at most 500" in (field_error(page.text, "q") or "")


def test_listings_are_paged(alice: AuthActions, db: Database, make_user: Callable[[str], User]) -> None:
    from composite.library.prompts import create_prompt

    carol = make_user("carol")
    for number in range(23):
        create_prompt(db, carol, title=f"Bulk {number:02d}", body="bulk", tags=["bulk"], visibility="public")
    first = alice.client.get("/tags/bulk").text
    assert "Page 1 of 2" in first
    assert 'href="/tags/bulk?page=2"' in first
    second = alice.client.get("/tags/bulk?page=2").text
    assert "Bulk 00" in second
    assert "Bulk 22" not in second
    search = alice.client.get("/search?q=bulk&sort=new&page=2").text
    assert 'href="/search?q=bulk&amp;sort=new&amp;page=1"' in search
    assert alice.client.get("/search?q=bulk&page=99999999999").status_code == 200


def test_tag_pages(alice: AuthActions) -> None:
    alice.create_prompt(title="Tagged", tags="writing")
    alice.create_prompt(title="Untagged")
    page = alice.client.get("/tags/writing")
    assert page.status_code == 200
    assert "Tagged" in page.text
    assert "Untagged" not in page.text
    assert "No prompts with this tag." in alice.client.get("/tags/nothing").text
    assert alice.client.get("/tags/Not%20A%20Tag").status_code == 404
    tags = alice.client.get("/tags")
    assert tags.status_code == 200
    assert 'href="/tags/writing"' in tags.text


def test_user_page(alice: AuthActions, new_browser: NewBrowser) -> None:
    alice.create_prompt(title="Mine")
    page = new_browser().client.get("/users/alice")
    assert page.status_code == 200
    assert "<h1>alice</h1>" in page.text
    assert re.search(r"\b1 public prompt\b", page.text)
    assert "Mine" in page.text
    assert new_browser().client.get("/users/nobody").status_code == 404
    assert new_browser().client.get("/users/x").status_code == 404


@pytest.mark.parametrize(
    "path", ["/", "/search?q=diary", "/search?sort=new", "/tags/secret-tag", "/tags", "/users/alice"]
)
def test_private_prompts_are_invisible_to_others_on_every_listing(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser, path: str
) -> None:
    alice.create_prompt(title="Public diary", tags="open")
    alice.create_prompt(title="Private diary", body="diary", tags="secret-tag", visibility="private")
    own = alice.client.get(path).text
    if path not in ("/", "/tags"):  # the tag cloud counts public prompts only, even for the owner
        assert "Private diary" in own or "secret-tag" in own
    for browser in (bob, new_browser()):
        page = browser.client.get(path)
        assert page.status_code == 200
        assert "Private diary" not in page.text
        if "secret-tag" not in path:  # a tag page names its own tag, whatever it holds
            assert "secret-tag" not in page.text
    profile = new_browser().client.get("/users/alice").text
    assert re.search(r"\b1 public prompt\b", profile)


def test_the_tag_list_is_paged(
    frontend_client: FlaskClient, db: Database, make_user: Callable[[str], User]
) -> None:
    from composite.library.prompts import create_prompt

    carol = make_user("carol")
    for number in range(45):  # 450 tags
        create_prompt(
            db,
            carol,
            title=f"P{number}",
            body="b",
            tags=[f"t{number:02d}-{k}" for k in range(10)],
            visibility="public",
        )
    first = frontend_client.get("/tags")
    assert first.text.count('class="tag size-') == 200
    assert "Page 1 of 3" in first.text
    assert 'href="/tags?page=2"' in first.text
    assert len(first.data) < 60_000
    last = frontend_client.get("/tags?page=3").text
    assert last.count('class="tag size-') == 50
    assert frontend_client.get("/tags?page=99").status_code == 200
