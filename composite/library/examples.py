"""Example prompts for a new development database, so the site is not empty."""

from __future__ import annotations

import secrets

from composite.db import Database
from composite.library.accounts import create_user, get_user_by_name
from composite.library.errors import NotFound
from composite.library.prompts import create_prompt

EXAMPLE_USER = "examples"
EXAMPLES = [
    {
        "title": "Summarise a document for a busy reader",
        "description": "Five bullet points and one sentence of advice.",
        "body": (
            "You are an editor. Summarise the following {{kind}} for {{audience}} in five bullet points,"
            " then add one sentence on what they should do next.\n\n{{text}}"
        ),
        "tags": ["summary", "writing"],
        "model_hint": "any chat model",
    },
    {
        "title": "Review a pull request",
        "description": "A careful, kind code review with concrete suggestions.",
        "body": (
            "Review this {{language}} change as a senior engineer. List bugs first, then risks, then"
            " style. Quote the lines you mean and suggest a fix for each.\n\n{{diff}}"
        ),
        "tags": ["code", "review"],
        "model_hint": "a code model",
    },
    {
        "title": "Explain like I am new to the field",
        "description": "Plain-language explanation with one analogy and one example.",
        "body": "Explain {{topic}} to someone new to {{field}}. Use one analogy and one worked example.",
        "tags": ["learning", "writing"],
        "model_hint": "any chat model",
    },
    {
        "title": "Write SQL from a question",
        "description": "Turns a question about a schema into one SQL query.",
        "body": (
            "Given this schema:\n{{schema}}\n\nWrite one {{dialect}} query that answers: {{question}}\n"
            "Explain any assumption in a comment."
        ),
        "tags": ["code", "sql", "data"],
        "model_hint": "a code model",
    },
]


def load_examples(db: Database) -> int:
    """Add the example prompts when the database has no prompts; return how many were added."""
    row = db.fetchone("SELECT count(*) FROM prompts")
    if row and row[0]:
        return 0
    try:
        author = get_user_by_name(db, EXAMPLE_USER)  # the examples were loaded once and deleted since
    except NotFound:
        # Nobody logs in as the example author: its password is random and never shown.
        author = create_user(db, EXAMPLE_USER, secrets.token_urlsafe(24))
    for example in EXAMPLES:
        create_prompt(db, author, visibility="public", **example)
    return len(EXAMPLES)
