"""The search box's syntax: phrases, exclusions, filters and Latin words written against CJK text."""

from __future__ import annotations

import time

from composite.library.query_syntax import MAX_EXCLUDED, MAX_PHRASES, Query, parse, phrase_pattern
from composite.library.tokens import fold


def test_plain_words_are_words() -> None:
    assert parse("linux terminal") == Query("linux terminal")
    assert not parse("linux terminal").narrows


def test_a_quoted_phrase_is_searched_for_and_must_appear_as_written() -> None:
    assert parse('"linux terminal" shell') == Query("linux terminal shell", phrases=("linux terminal",))
    # One quoted word is a word; an unclosed quote runs to the end.
    assert parse('"linux"') == Query("linux")
    assert parse('act "linux terminal').phrases == ("linux terminal",)


def test_a_minus_excludes_and_filters_are_not_words() -> None:
    query = parse("linux -windows tag:Fabric author:alice is:starred")
    assert query == Query("linux", excluded=("windows",), tag="fabric", author="alice", starred=True)
    assert query.narrows
    # A hyphen inside a word is the word's: e-mail is not "e" without "mail".
    assert parse("e-mail") == Query("e-mail")
    # Only is:starred is known: any other is: is the word after it.
    assert parse("is:other") == Query("other")


def test_a_latin_word_against_cjk_is_a_phrase() -> None:
    assert parse("Go语言").phrases == ("Go语言",)
    assert parse("学习Python").phrases == ("学习Python",)
    assert parse("Go 语言").phrases == ()


def test_phrase_patterns_need_the_words_side_by_side() -> None:
    pattern = phrase_pattern("linux terminal")
    assert pattern.search(fold("Act as a Linux: terminal"))
    assert not pattern.search(fold("a linux box with a terminal"))
    assert not pattern.search(fold("linuxes terminals"))
    go = phrase_pattern("Go语言")
    assert go.search(fold("用Go语言写一个服务"))
    assert go.search(fold("go 语言"))
    assert not go.search(fold("let's go to 语文 class"))
    assert not go.search(fold("going语言"))


def test_a_huge_query_is_truncated_quickly() -> None:
    text = " ".join(f'"p{i} q{i}" -x{i}' for i in range(2_000))
    started = time.process_time()  # CPU time: a busy machine stretches wall time, not this
    query = parse(text)
    assert time.process_time() - started < 0.5
    assert (len(query.phrases), len(query.excluded)) == (MAX_PHRASES, MAX_EXCLUDED)
