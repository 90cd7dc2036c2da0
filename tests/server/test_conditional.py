"""If-None-Match by RFC 9110: weak comparison, lists, "*", and malformed headers never matching."""

from __future__ import annotations

import re

import pytest

from composite.server.conditional import none_match, weak_etag


def test_equal_parts_give_equal_weak_tags_and_hide_the_parts() -> None:
    tag = weak_etag("prompt", 7, None, "production", (123, (("production", 2),)))
    assert tag == weak_etag("prompt", 7, None, "production", (123, (("production", 2),)))
    assert tag != weak_etag("prompt", 7, None, "production", (123, (("production", 3),)))
    assert tag != weak_etag("prompt", 7, 1, "production", (123, (("production", 2),)))
    assert re.fullmatch(r'W/"[0-9a-f]{32}"', tag)  # opaque: the parts are not in it


TAG = 'W/"abc123"'


@pytest.mark.parametrize(
    "header",
    [
        'W/"abc123"',
        '"abc123"',  # weak comparison: a strong tag with the same opaque part matches
        "*",
        " * ",
        '"other", W/"abc123"',
        'W/"x",W/"abc123" , "y"',
        '"abc123"  ,',
    ],
)
def test_matches(header: str) -> None:
    assert none_match(header, TAG)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "abc123",  # not quoted: not an entity tag
        'W/"abc1234"',
        '"abc12"',
        'W/"ABC123"',  # opaque tags compare byte for byte
        '"abc123',  # unterminated
        '*, W/"nope"',
        'w/"abc123 "',
    ],
)
def test_does_not_match(header: str | None) -> None:
    assert not none_match(header, TAG)


def test_a_huge_list_is_read_in_linear_time() -> None:
    header = ", ".join(f'W/"{n}"' for n in range(20_000)) + f", {TAG}"
    assert none_match(header, TAG)
    assert not none_match('"' * 60_000, TAG)
