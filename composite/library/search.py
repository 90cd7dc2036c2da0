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
    """A light English stemmer: 'summaries' finds 'summary', 'testing' finds 'tested'."""
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
    # A prompt never indexed (search_len 0) has no rows: skip the delete, a scan of every posting.
    row = cur.execute("SELECT search_len FROM prompts WHERE id = ?", [prompt_id]).fetchone()
    if row is None or row[0]:
        cur.execute("DELETE FROM search_terms WHERE prompt_id = ?", [prompt_id])
    if frequencies:
        cur.execute(
            "INSERT INTO search_terms (prompt_id, term, tf, doc_len)"
            " SELECT ?, unnest(?::VARCHAR[]), unnest(?::DOUBLE[]), ?",
            [prompt_id, list(frequencies), list(frequencies.values()), length],
        )
    cur.execute("UPDATE prompts SET search_len = ? WHERE id = ?", [length, prompt_id])


def index_new_prompts(
    cur: duckdb.DuckDBPyConnection, weighed: list[tuple[int, dict[str, float], float]]
) -> None:
    """Add the index rows of prompts never indexed, weighed beforehand: (id, frequencies, length).

    One statement for them all; the caller stores each length as the prompt's search_len.
    """
    ids: list[int] = []
    words: list[str] = []
    frequencies: list[float] = []
    lengths: list[float] = []
    for prompt_id, counts, length in weighed:
        ids += [prompt_id] * len(counts)
        words += counts
        frequencies += counts.values()
        lengths += [length] * len(counts)
    if ids:
        cur.execute(
            "INSERT INTO search_terms (prompt_id, term, tf, doc_len) SELECT unnest(?::BIGINT[]),"
            " unnest(?::VARCHAR[]), unnest(?::DOUBLE[]), unnest(?::DOUBLE[])",
            [ids, words, frequencies, lengths],
        )


def unindex_prompt(cur: duckdb.DuckDBPyConnection, prompt_id: int) -> None:
    """Drop a prompt's index rows."""
    cur.execute("DELETE FROM search_terms WHERE prompt_id = ?", [prompt_id])


def ranked_sql(term_count: int) -> str:
    """Common table expressions ending in ``ranked(prompt_id, matched, score)``.

    BM25 (k1 = 1.2, b = 0.75) over the prompts visible to a viewer; prompts matching more
    of the terms come first. Parameters: the viewer's id twice, then the terms. The terms
    are bound one by one (not as a list) so that DuckDB reads only the row groups whose
    min/max statistics can hold them.
    """
    placeholders = ", ".join("?" * max(term_count, 1))
    bm25 = "idf.idf * h.tf * 2.2 / (h.tf + 1.2 * (0.25 + 0.75 * h.doc_len / stats.avglen))"
    joins = "FROM hits h JOIN idf USING (term) CROSS JOIN stats"
    if term_count == 1:
        # One posting per prompt and term: with one term there is nothing to add up.
        ranking = f"SELECT h.prompt_id, 1 AS matched, {bm25} AS score {joins}"
    else:
        ranking = (
            f"SELECT h.prompt_id, count(*) AS matched, sum({bm25}) AS score {joins} GROUP BY h.prompt_id"
        )
    return f"""
hidden AS (SELECT id FROM prompts WHERE visibility <> 'public' AND owner_id IS DISTINCT FROM ?),
stats AS (
    SELECT count(*) AS n, greatest(avg(search_len), 1) AS avglen
    FROM prompts WHERE visibility = 'public' OR owner_id = ?
),
hits AS (
    SELECT s.prompt_id, s.term, s.tf, s.doc_len FROM search_terms s ANTI JOIN hidden h ON h.id = s.prompt_id
    WHERE s.term IN ({placeholders})
),
idf AS (
    SELECT term, ln(1 + (any_value(stats.n) - count(*) + 0.5) / (count(*) + 0.5)) AS idf
    FROM hits CROSS JOIN stats GROUP BY term
),
ranked AS ({ranking})"""
