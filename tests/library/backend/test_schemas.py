"""The API's schemas and the shared rules agree, so both apps refuse the same input."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from composite.library import rules
from composite.library.backend.schemas import PromptCreate, TokenCreate, UserCreate
from composite.library.errors import Invalid


@pytest.mark.parametrize("username", ["abc\n", "ab", "a" * 33, "white space", "ab\ud800c", "nul\x00x"])
def test_bad_usernames_are_refused_by_schema_and_rules(username: str) -> None:
    with pytest.raises(ValidationError):
        UserCreate(username=username, password="long enough")
    with pytest.raises(Invalid):
        rules.check_username(username)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "   "),
        ("title", "\x1c\x1d"),  # str.strip() removes these too
        ("title", "t" * 201),
        ("title", "bad\x00"),
        ("title", "lone \ud800"),
        ("body", "\n\t "),
        ("body", "b" * 50_001),
        ("description", "d" * 501),
        ("description", "lone \udfff"),
        ("model_hint", "m" * 101),
    ],
)
def test_bad_prompt_text_is_refused_by_schema_and_rules(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        PromptCreate(**{"title": "t", "body": "b", field: value})
    with pytest.raises(Invalid):
        rules.check_prompt_fields(**{field: value})


@pytest.mark.parametrize(
    "tags",
    [
        ["a"] * 11,  # repeats count: the schema sees eleven items
        ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "A"],
        [""],
        ["  "],
        ["a\tb"],  # only spaces become '-'
        ["a_b"],
        ["a" * 33],
        ["\u212a"],  # KELVIN SIGN, which str.lower() turns into 'k'
        ["a\n"],
    ],
)
def test_bad_tags_are_refused_by_schema_and_rules(tags: list[str]) -> None:
    with pytest.raises(ValidationError):
        PromptCreate(title="t", body="b", tags=tags)
    with pytest.raises(Invalid):
        rules.check_tags(tags)


def test_repeated_tags_within_the_limit_are_merged_by_both() -> None:
    tags = ["Writing", "summary", "writing"]
    assert PromptCreate(title="t", body="b", tags=tags).tags == tags
    assert rules.check_tags(tags) == ["writing", "summary"]
    assert rules.check_tags("Writing, summary, writing,") == ["writing", "summary"]


def test_spaces_inside_a_tag_become_hyphens_for_both() -> None:
    tags = ["Language Learning", " a - b ", "x  y"]
    assert PromptCreate(title="t", body="b", tags=tags).tags == tags
    assert rules.check_tags(tags) == ["language-learning", "a-b", "x-y"]
    # The form's field splits on commas only.
    assert rules.check_tags("translation, Language Learning") == ["translation", "language-learning"]


@pytest.mark.parametrize("name", ["n" * 65, "nul\x00", "lone \ud800"])
def test_bad_token_names_are_refused_by_schema_and_rules(name: str) -> None:
    with pytest.raises(ValidationError):
        TokenCreate(username="alice", password="x", name=name)
    with pytest.raises(Invalid):
        rules.check_token_name(name)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (UserCreate, {"username": "abc", "password": "12345678"}),
        (PromptCreate, {"title": " t ", "body": "b", "tags": ["A-1"] * 10, "model_hint": ""}),
        (TokenCreate, {"username": "abc", "password": "x", "name": None}),
    ],
)
def test_the_edges_of_the_limits_pass_both(model: type[BaseModel], fields: dict[str, Any]) -> None:
    model(**fields)
    if model is PromptCreate:
        rules.check_prompt_fields(title=fields["title"], body=fields["body"])
        assert rules.check_tags(fields["tags"]) == ["a-1"]


def test_every_prompt_schema_carries_the_domain_content_fields() -> None:
    from composite.library.backend.schemas import (
        ExportedPrompt,
        PromptContentOut,
        PromptCreate,
        PromptOut,
        PromptUpdate,
        VersionOut,
    )
    from composite.library.prompts import CONTENT_FIELDS

    assert tuple(PromptContentOut.model_fields) == CONTENT_FIELDS
    for schema in (PromptOut, VersionOut, ExportedPrompt, PromptCreate, PromptUpdate):
        assert set(CONTENT_FIELDS) <= set(schema.model_fields), schema.__name__
