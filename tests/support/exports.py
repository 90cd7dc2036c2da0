"""Export documents shaped like real ones, for import tests near the body limit."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

WORDS = (
    "summarise explain rewrite draft review translate outline compare list describe the a of to"
    " and for with in on audience tone style formal casual brief detailed customer email report"
    " meeting notes article essay story poem code function test bug error design plan budget"
    " risk market product launch feature user interview question answer example step reason"
    " source evidence claim argument summary table chart data trend figure number date name"
).split()


def prompt_item(rng: random.Random, index: int, body_chars: int, tags: list[str]) -> dict[str, Any]:
    """One exported prompt with a body of about ``body_chars`` characters of ordinary words."""
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < body_chars:
        word = rng.choice(WORDS)
        # Numbered words give the search index many distinct terms, as real text does.
        words.append(f"{word}{rng.randrange(400)}" if rng.random() < 0.3 else word)
    words.insert(len(words) // 2, "{{topic}}")
    return {
        "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "title": f"Prompt {index}: {' '.join(rng.sample(WORDS, 4))}",
        "description": " ".join(rng.sample(WORDS, 12)),
        "body": " ".join(words),
        "model_hint": "any chat model",
        "tags": tags,
        "visibility": "private" if index % 5 == 0 else "public",
    }


def realistic_export(
    count: int = 1000, max_bytes: int = 1024 * 1024, seed: int = 1, distinct_tags: int = 50
) -> dict[str, Any]:
    """An export of ``count`` prompts whose JSON is just under ``max_bytes``."""
    rng = random.Random(seed)
    pool = [f"tag-{n}" for n in range(distinct_tags)]

    def build(body_chars: int) -> dict[str, Any]:
        items = [prompt_item(rng, i, body_chars, rng.sample(pool, 3)) for i in range(count)]
        return {"format": "allucanget-prompts", "version": 1, "owner": "someone", "prompts": items}

    document = build(100)
    overhead = len(json.dumps(document)) - count * 100
    body_chars = (max_bytes - overhead) // count - 8  # words overshoot by a few characters
    rng.seed(seed)
    document = build(body_chars)
    assert len(json.dumps(document)) <= max_bytes
    return document
