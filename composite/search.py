"""Full-text search: a term index kept in step with every prompt write, ranked with BM25."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import duckdb

MAX_QUERY_TERMS = 12
MAX_TERM_LENGTH = 40
# Matches in the title and tags say more about a prompt than matches deep in its body.
FIELD_WEIGHTS = {"title": 3.0, "tags": 3.0, "description": 2.0, "body": 1.0}
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP_WORDS = frozenset(
    "a an and are as at be by for from in into is it of on or that the this to was with you your".split()
)


def stem(word: str) -> str:
    """A light English stemmer so that 'summaries' finds 'summary' and 'writing' finds 'write'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The index terms of a text, in order, stop words left out."""
    found = []
    for word in _WORD.findall(text.casefold()):
        if word in _STOP_WORDS or len(word) > MAX_TERM_LENGTH:
            continue
        found.append(stem(word))
    return found


def query_terms(query: str) -> list[str]:
    """The distinct terms of a search query (at most MAX_QUERY_TERMS)."""
    return list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]


def weighted_terms(
    title: str, description: str, body: str, tags: Iterable[str]
) -> tuple[dict[str, float], float]:
    """Field-weighted term frequencies of a prompt and its weighted length."""
    counts: Counter[str] = Counter()
    fields = {"title": title, "description": description, "body": body, "tags": " ".join(tags)}
    for field, text in fields.items():
        weight = FIELD_WEIGHTS[field]
        for term in terms(text):
            counts[term] += weight
    return dict(counts), float(sum(counts.values()))


def index_prompt(
    cur: duckdb.DuckDBPyConnection, prompt_id: int, title: str, description: str, body: str, tags: list[str]
) -> None:
    """Replace a prompt's index rows; call inside the transaction that writes the prompt."""
    frequencies, length = weighted_terms(title, description, body, tags)
    cur.execute("DELETE FROM search_terms WHERE prompt_id = ?", [prompt_id])
    if frequencies:
        cur.execute(
            "INSERT INTO search_terms SELECT ?, unnest(?::VARCHAR[]), unnest(?::DOUBLE[])",
            [prompt_id, list(frequencies), list(frequencies.values())],
        )
    cur.execute("UPDATE prompts SET search_len = ? WHERE id = ?", [length, prompt_id])


def unindex_prompt(cur: duckdb.DuckDBPyConnection, prompt_id: int) -> None:
    """Drop a prompt's index rows."""
    cur.execute("DELETE FROM search_terms WHERE prompt_id = ?", [prompt_id])


# Ranks the prompts visible to a viewer by BM25 (k1 = 1.2, b = 0.75) over the query
# terms; prompts matching more of the terms come first. Parameters: terms, viewer, viewer.
RANKED_SQL = """
WITH hits AS (
    SELECT s.prompt_id, s.term, s.tf, p.search_len
    FROM search_terms s JOIN prompts p ON p.id = s.prompt_id
    WHERE s.term IN (SELECT unnest(?::VARCHAR[]))
      AND (p.visibility = 'public' OR p.owner_id = ?)
),
df AS (SELECT term, count(*) AS df FROM hits GROUP BY term),
stats AS (
    SELECT count(*) AS n, greatest(avg(search_len), 1) AS avglen
    FROM prompts WHERE visibility = 'public' OR owner_id = ?
)
SELECT h.prompt_id,
       count(*) AS matched,
       sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5))
           * h.tf * 2.2 / (h.tf + 1.2 * (0.25 + 0.75 * h.search_len / stats.avglen))) AS score
FROM hits h JOIN df USING (term) CROSS JOIN stats
GROUP BY h.prompt_id
"""
