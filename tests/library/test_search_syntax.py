"""Search syntax through the catalog: phrases, exclusions, tag:, author:, is:starred, and its cost bounds."""

from __future__ import annotations

import time

import pytest

from composite.db import Database
from composite.library import catalog, prompts, searching, stars
from composite.library.accounts import get_user_by_name
from composite.library.errors import Invalid
from composite.library.rules import BODY_MAX


def titles(db: Database, q: str, viewer_id: int | None = None, **filters: str) -> list[str]:
    return sorted(p.title for p in catalog.list_prompts(db, viewer_id, q=q, **filters).items)


@pytest.fixture
def library(db: Database, make_user) -> Database:
    alice, bob = make_user("alice"), make_user("bob")
    for owner, title, body, tags in (
        (alice, "Linux Terminal", "Act as a linux terminal and show the output.", ["shell"]),
        (alice, "Terminal for Linux", "A terminal: type commands as on linux.", ["shell"]),
        (bob, "Windows Linux setup", "Run linux on windows with WSL.", ["fabric"]),
        (bob, "Go语言助手", "用Go语言写一个服务。", ["go"]),
        (bob, "Let's go", "go for a walk, then go home.", []),
    ):
        prompts.create_prompt(db, owner, title=title, body=body, tags=tags, visibility="public")
    return db


def test_a_quoted_phrase_needs_its_words_side_by_side(library: Database) -> None:
    # Words alone match any of them, the most matched first.
    found = titles(library, "linux terminal")
    assert found == ["Linux Terminal", "Terminal for Linux", "Windows Linux setup"]
    assert titles(library, '"linux terminal"') == ["Linux Terminal"]
    assert catalog.list_prompts(library, q='"linux terminal"').total == 1


def test_a_minus_excludes_a_word(library: Database) -> None:
    assert titles(library, "linux -windows") == ["Linux Terminal", "Terminal for Linux"]
    assert titles(library, "linux -terminal -windows") == []
    # Nothing but exclusions: there is nothing to search for, and the answer says so.
    page = catalog.list_prompts(library, q="-windows")
    assert (page.total, page.notice) == (0, searching.NO_WORDS_NOTICE)


def test_tag_and_author_filter_in_the_query(library: Database) -> None:
    assert titles(library, "linux tag:fabric") == ["Windows Linux setup"]
    assert titles(library, "linux author:alice") == ["Linux Terminal", "Terminal for Linux"]
    assert titles(library, "linux author:nobody") == []
    # Alone, a filter lists what it selects, as the parameter does.
    assert titles(library, "tag:shell") == ["Linux Terminal", "Terminal for Linux"]
    assert titles(library, "tag:shell", tag="shell") == ["Linux Terminal", "Terminal for Linux"]
    # Both must hold: two different tags select nothing.
    assert titles(library, "tag:shell", tag="fabric") == []
    assert titles(library, "author:alice", author="bob") == []


def test_is_starred_is_the_viewers_stars_and_follows_them(library: Database, make_user) -> None:
    carol, dave = make_user("carol"), make_user("dave")
    linux = next(p for p in catalog.list_prompts(library, q='"linux terminal"').items)
    assert titles(library, "is:starred", carol.id) == []
    assert titles(library, "linux is:starred", carol.id) == []
    stars.star(library, linux.id, carol)
    # Asked twice: the second answer may come from a cache, and must still be this viewer's.
    for _ in range(2):
        assert titles(library, "linux is:starred", carol.id) == ["Linux Terminal"]
        assert titles(library, "is:starred", carol.id) == ["Linux Terminal"]
        assert titles(library, "is:starred", dave.id) == []
    stars.unstar(library, linux.id, carol)
    assert titles(library, "linux is:starred", carol.id) == []
    assert titles(library, "is:starred", carol.id) == []


def test_is_starred_for_nobody_signed_in_says_why(library: Database) -> None:
    page = catalog.list_prompts(library, None, q="linux is:starred")
    assert (page.items, page.total, page.notice) == ((), 0, catalog.SIGN_IN_FOR_STARS)


def test_a_latin_word_against_cjk_does_not_match_every_go(library: Database) -> None:
    assert titles(library, "go") == ["Go语言助手", "Let's go"]
    assert titles(library, "Go语言") == ["Go语言助手"]


def test_a_phrase_follows_edits(library: Database) -> None:
    [linux] = catalog.list_prompts(library, q='"linux terminal"').items
    alice = get_user_by_name(library, "alice")
    prompts.update_prompt(library, linux.id, alice, body="A terminal, on linux.")
    assert titles(library, '"linux terminal"') == ["Linux Terminal"]  # the title still holds it
    prompts.update_prompt(library, linux.id, alice, title="Shell")
    assert titles(library, '"linux terminal"') == []


def test_a_long_query_is_refused_and_a_full_one_answers_quickly(library: Database) -> None:
    with pytest.raises(Invalid):
        catalog.list_prompts(library, q="x " * 5_000)
    crowded = [
        " ".join(f"w{i}" for i in range(250)),
        " ".join(f'"a{i} b"' for i in range(80)),
        " ".join(f"-x{i}" for i in range(160)) + " linux",
        " ".join(f"tag:t{i} author:u{i}" for i in range(30)) + " is:starred",
    ]
    for text in crowded:
        q = text[: catalog.MAX_QUERY_LENGTH]
        started = time.process_time()  # CPU time (DuckDB's threads included), not wall time
        catalog.list_prompts(library, 1, q=q)
        assert time.process_time() - started < 1.0, q[:40]


def test_the_phrase_scan_is_bounded_by_prompts_and_characters(db: Database, make_user) -> None:
    alice = make_user("alice")
    # Each body holds both words, apart: every one is read to learn that none has the phrase.
    body = ("linux " + "filler words about shells " * 20 + " terminal. ") * (BODY_MAX // 560)
    for i in range(60):
        prompts.create_prompt(db, alice, title=f"Long {i}", body=body[:BODY_MAX], visibility="public")
    assert 60 * len(body) > searching.PHRASE_SCAN_CHARS
    started = time.process_time()  # CPU time (DuckDB's threads included), not wall time
    page = catalog.list_prompts(db, None, q='"linux terminal"')
    elapsed = time.process_time() - started
    assert page.total == 0
    assert elapsed < 0.5, elapsed
