"""Finding prompts: search ranking, filters, sorting, tags and privacy."""

from __future__ import annotations

import pytest

from composite.db import Database
from composite.library import catalog, prompts, stars
from composite.library.accounts import get_profile
from composite.library.errors import Invalid
from composite.library.search import query_terms, stem, terms


def titles(page: catalog.Page) -> list[str]:
    return [p.title for p in page.items]


def test_terms_are_folded_stemmed_and_stop_words_dropped() -> None:
    assert terms("The Summaries of WRITING, and writes!") == ["summari", "write", "write"]
    assert stem("glass") == "glass"
    assert query_terms("the a of") == []
    assert query_terms("code code review") == ["code", "review"]


def test_search_ranks_title_matches_above_body_matches(db: Database, make_user) -> None:
    alice = make_user("alice")
    prompts.create_prompt(
        db, alice, title="Cooking ideas", body="Mention a haiku once in passing.", visibility="public"
    )
    prompts.create_prompt(db, alice, title="Haiku writer", body="Write a poem.", visibility="public")
    prompts.create_prompt(db, alice, title="Unrelated", body="Nothing to see.", visibility="public")
    page = catalog.list_prompts(db, None, q="haiku")
    assert titles(page) == ["Haiku writer", "Cooking ideas"]
    assert page.total == 2


def test_search_prefers_prompts_matching_more_terms(db: Database, make_user) -> None:
    alice = make_user("alice")
    prompts.create_prompt(db, alice, title="SQL SQL SQL", body="sql sql sql sql", visibility="public")
    prompts.create_prompt(db, alice, title="Review SQL", body="review the sql query", visibility="public")
    assert titles(catalog.list_prompts(db, None, q="sql review")) == ["Review SQL", "SQL SQL SQL"]


def test_search_covers_description_tags_and_follows_edits(db: Database, make_user) -> None:
    alice = make_user("alice")
    by_tag = prompts.create_prompt(db, alice, title="One", body="x", tags=["marketing"], visibility="public")
    prompts.create_prompt(
        db, alice, title="Two", body="x", description="For marketing emails", visibility="public"
    )
    assert sorted(titles(catalog.list_prompts(db, None, q="marketing"))) == ["One", "Two"]
    prompts.update_prompt(db, by_tag.id, alice, tags=["sales"])
    assert titles(catalog.list_prompts(db, None, q="marketing")) == ["Two"]
    assert titles(catalog.list_prompts(db, None, q="sales")) == ["One"]
    prompts.delete_prompt(db, by_tag.id, alice)
    assert titles(catalog.list_prompts(db, None, q="sales")) == []


def test_private_prompts_stay_out_of_every_listing_but_their_owners(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    prompts.create_prompt(db, alice, title="Open haiku", body="x", tags=["poetry"], visibility="public")
    prompts.create_prompt(
        db, alice, title="Secret haiku", body="x", tags=["poetry", "hidden"], visibility="private"
    )
    for viewer in (None, bob.id):
        assert titles(catalog.list_prompts(db, viewer)) == ["Open haiku"]
        assert titles(catalog.list_prompts(db, viewer, q="secret haiku")) == ["Open haiku"]
        assert titles(catalog.list_prompts(db, viewer, tag="hidden")) == []
        assert catalog.list_prompts(db, viewer, author="alice").total == 1
    assert catalog.list_prompts(db, alice.id, author="alice").total == 2
    assert titles(catalog.list_prompts(db, alice.id, q="secret")) == ["Secret haiku"]
    assert [(t.name, t.count) for t in catalog.list_tags(db)] == [("poetry", 1)]
    assert get_profile(db, "alice").public_prompts == 1


def test_filters_sorting_and_paging(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    made = [
        prompts.create_prompt(
            db, alice, title=f"P{i}", body="x", tags=["even" if i % 2 else "odd"], visibility="public"
        )
        for i in range(5)
    ]
    prompts.create_prompt(db, bob, title="Bob's", body="x", visibility="public")
    stars.star(db, made[1].id, bob)
    stars.star(db, made[1].id, alice)
    stars.star(db, made[3].id, bob)
    assert titles(catalog.list_prompts(db, None, sort="stars", limit=3)) == ["P1", "P3", "Bob's"]
    assert titles(catalog.list_prompts(db, None, tag="EVEN")) == ["P3", "P1"]
    assert titles(catalog.list_prompts(db, None, author="BOB")) == ["Bob's"]
    assert catalog.list_prompts(db, None, author="nobody").total == 0
    page = catalog.list_prompts(db, None, limit=2, offset=2)
    assert (titles(page), page.total) == (["P3", "P2"], 6)
    beyond = catalog.list_prompts(db, None, limit=2, offset=50)
    assert (beyond.items, beyond.total) == ((), 6)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sort": "random"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"q": "x" * 501}, "q"),
    ],
)
def test_bad_listing_parameters_are_refused(db: Database, kwargs: dict, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        catalog.list_prompts(db, None, **kwargs)
    assert field in caught.value.errors


def test_search_treats_sql_and_markup_as_plain_text(db: Database, make_user) -> None:
    alice = make_user("alice")
    title = "'; DROP TABLE prompts; -- <script>alert(1)</script>"
    prompts.create_prompt(db, alice, title=title, body="x", visibility="public")
    assert titles(catalog.list_prompts(db, None, q="drop table script")) == [title]
    assert titles(catalog.list_prompts(db, None, q="'\"%_\\")) == []


def test_a_caller_cannot_change_a_kept_listing_under_the_next(db: Database, make_user) -> None:
    alice = make_user("alice")
    for title in ("Beta", "Alpha"):
        prompts.create_prompt(db, alice, title=title, body="x", tags=["b", "a"], visibility="public")
    page = catalog.list_prompts(db)
    tags = catalog.tag_page(db, 10)
    hits = db.memo.hits
    # What a careless caller might do to the answer it was given: each raises.
    with pytest.raises(AttributeError):
        page.items.sort(key=lambda p: p.title)  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        page.items[0].tags.append("mine")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        tags.items.reverse()  # type: ignore[attr-defined]
    # The next caller is handed the kept answer (a hit), as it was.
    again = catalog.list_prompts(db)
    assert db.memo.hits == hits + 1
    assert titles(again) == ["Alpha", "Beta"]
    assert again.items[0].tags == ("b", "a")
    assert [t.name for t in catalog.tag_page(db, 10).items] == ["a", "b"]
