"""Example prompts for an empty development database."""

from __future__ import annotations

from composite.db import Database
from composite.library.accounts import get_user_by_name
from composite.library.catalog import list_prompts
from composite.library.examples import EXAMPLES, load_examples
from composite.library.prompts import delete_prompt


def test_examples_load_into_an_empty_database_only(db: Database) -> None:
    assert load_examples(db) == len(EXAMPLES)
    assert load_examples(db) == 0
    assert list_prompts(db).total == len(EXAMPLES)


def test_examples_load_again_after_everything_was_deleted(db: Database) -> None:
    load_examples(db)
    author = get_user_by_name(db, "examples")
    for prompt in list_prompts(db).items:
        delete_prompt(db, prompt.id, author)
    assert load_examples(db) == len(EXAMPLES)
