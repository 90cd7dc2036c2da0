"""Running a search: words to terms, typo fallback, ranking, phrase boost and duplicates, one page."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from composite.db import Cursor, Database
from composite.library import ranking
from composite.library.prompts import PROMPT_COLUMNS, Prompt
from composite.library.search import MAX_QUERY_TERMS, typo_candidates
from composite.library.tokens import fold, only_stop_words, query_words

# The first matches are re-ordered with what a term index cannot see: the words side by
# side as typed, and prompts with the same text as a better one already shown.
RERANK_WINDOW = 100
PHRASE_BOOST = 1.5
STOP_WORDS_NOTICE = "Only very common words were given (such as “the”); search needs at least one other word."
NO_WORDS_NOTICE = "The query has no words to search for."


@dataclass(frozen=True)
class Page:
    """One page of prompts, how many match in all, and what the search made of the query."""

    items: list[Prompt]
    total: int
    limit: int
    offset: int
    # The words searched for, typos corrected ("translate" for "transalte"); None when listing.
    searched_for: str | None = None
    # A sentence for the reader: why nothing could match, or which words were corrected.
    notice: str | None = None
    terms: tuple[str, ...] = field(default=())


def filters_sql(tag: str | None, owner_id: int | None) -> tuple[list[str], list[Any]]:
    """The tag and author conditions on prompts p, with their parameters."""
    filters: list[str] = []
    params: list[Any] = []
    if tag:
        filters.append("list_contains(p.tags, ?)")
        params.append(tag)
    if owner_id is not None:
        filters.append("p.owner_id = ?")
        params.append(owner_id)
    return filters, params


@dataclass
class _Plan:
    terms: list[ranking.Term]
    versions: dict[str, tuple[int, str]]
    shown: list[str]
    corrected: list[str]
    also: list[str]


def _plan(snapshot: ranking.Snapshot, scorer: ranking.Scorer, words: list[tuple[str, str]]) -> _Plan:
    """Query terms, each word that matches nothing replaced by its nearest dictionary term."""
    versions = snapshot.versions([term for term, _ in words])
    plan = _Plan([], versions, [], [], [])
    for slot, (term, word) in enumerate(words):
        df = len(scorer.visible(term, versions[term][0])[0]) if term in versions else 0
        best = None
        if df <= ranking.RARE_DF:
            # Candidates come from every prompt's words: keep only those this viewer may see,
            # or a correction would reveal a word that only private prompts hold.
            for candidate, version in typo_candidates(snapshot.cur, term):
                seen = len(scorer.visible(candidate, version)[0])
                if seen and (df == 0 or seen >= ranking.RARE_RATIO * df):
                    best = (candidate, version)
                    break
        if best is None:
            plan.terms.append(ranking.Term(term, slot))
            plan.shown.append(word)
            continue
        candidate, version = best
        versions[candidate] = (version, snapshot.versions([candidate])[candidate][1])
        correction = versions[candidate][1]
        plan.terms.append(ranking.Term(candidate, slot, ranking.FUZZY_WEIGHT))
        if df:
            plan.terms.append(ranking.Term(term, slot))
            plan.shown.append(word)
            plan.also.append(correction)
        else:
            plan.shown.append(correction)
            plan.corrected.append(correction)
    return plan


def find(
    db: Database,
    viewer_id: int | None,
    q: str,
    *,
    tag: str | None,
    owner_id: int | None,
    sort: str,
    limit: int,
    offset: int,
) -> Page:
    """A page of the prompts matching q that the viewer may see, with what was searched for."""
    words = query_words(q)[:MAX_QUERY_TERMS]
    if not words:
        notice = STOP_WORDS_NOTICE if only_stop_words(q) else NO_WORDS_NOTICE
        return Page([], 0, limit, offset, searched_for="", notice=notice)
    cur, snapshot = ranking.read_snapshot(db)
    try:
        scorer = ranking.Scorer(snapshot, viewer_id)
        plan = _plan(snapshot, scorer, words)
        keys = None
        allowed = None
        if tag or owner_id is not None or sort != "relevance":
            allowed, keys = _filtered(cur, scorer.size, tag, owner_id, sort)
        ranked = scorer.rank(plan.terms, plan.versions, allowed)
        if keys is not None:
            positions = _sorted_by(ranked, keys, offset + limit)
        else:
            positions = _relevance(cur, ranked, words, plan, offset + limit)
        page_ids = [int(i) for i in ranked.ids[positions[offset : offset + limit]]]
        items = _prompts(cur, page_ids)
    finally:
        cur.execute("COMMIT")
    notice = None
    if plan.corrected:
        notice = f"Showing results for {' '.join(plan.shown)}"
    elif plan.also:
        notice = f"Also showing results for {', '.join(plan.also)}"
    terms = tuple(item.term for item in plan.terms)
    return Page(items, ranked.total, limit, offset, " ".join(plan.shown), notice, terms)


def _filtered(
    cur: Cursor, size: int, tag: str | None, owner_id: int | None, sort: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Which prompt ids pass the tag and author filters, and each id's sort key if not by relevance."""
    conditions, params = filters_sql(tag, owner_id)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    key = {"new": "epoch_us(p.created_at)", "stars": "p.stars"}.get(sort, "0")
    arrays = cur.execute(f"SELECT p.id, {key} AS k FROM prompts p {where}", params).fetchnumpy()
    ids = np.asarray(arrays["id"], dtype=np.int64)
    ids = ids[ids < size]
    allowed = np.zeros(size, dtype=bool)
    allowed[ids] = True
    if sort == "relevance":
        return allowed, None
    keys = np.zeros(size, dtype=np.int64)
    keys[ids] = np.asarray(arrays["k"], dtype=np.int64)[: len(ids)]
    return allowed, keys


def _sorted_by(ranked: ranking.Ranked, keys: np.ndarray, count: int) -> np.ndarray:
    """Positions of the first ``count`` matches by a sort key, newest id first on ties."""
    return np.lexsort((-ranked.ids, -keys[ranked.ids]))[:count]


def _relevance(
    cur: Cursor, ranked: ranking.Ranked, words: list[tuple[str, str]], plan: _Plan, count: int
) -> np.ndarray:
    """Best matches first; the first RERANK_WINDOW boosted for the phrase and cleared of duplicates."""
    positions = ranking.order(ranked, max(count, min(RERANK_WINDOW, ranked.total)))
    window = positions[:RERANK_WINDOW]
    if not len(window):
        return positions
    ids = [int(i) for i in ranked.ids[window]]
    rows = cur.execute(
        f"SELECT id, title, description, body FROM prompts WHERE id IN ({', '.join('?' * len(ids))})", ids
    ).fetchall()
    texts = {row[0]: row[1:] for row in rows}
    phrase = _phrase([word for _, word in words]) if len(words) > 1 and not plan.corrected else None
    scored = []
    for position in window:
        prompt_id = int(ranked.ids[position])
        title, description, body = texts.get(prompt_id, ("", "", ""))
        score = float(ranked.score[position])
        if phrase is not None and phrase.search(fold(f"{title}\n{description}\n{body}")):
            score *= PHRASE_BOOST
        scored.append((-int(ranked.matched[position]), -score, -prompt_id, int(position), _content(body)))
    scored.sort()
    seen: set[str] = set()
    first, repeats = [], []
    for *_, position, content in scored:
        (repeats if content in seen else first).append(position)
        seen.add(content)
    return np.concatenate([np.asarray(first + repeats, dtype=np.int64), positions[RERANK_WINDOW:]])


def _phrase(words: list[str]) -> re.Pattern[str]:
    """The query's words side by side, with only spaces or punctuation between them."""
    return re.compile(r"(?<!\w)" + r"[\W_]+".join(re.escape(fold(word)) for word in words) + r"(?!\w)")


def _content(body: str) -> str:
    """A prompt's text as duplicates share it: case and spacing aside."""
    return " ".join(body.lower().split())


def _prompts(cur: Cursor, ids: list[int]) -> list[Prompt]:
    """Full prompts for ids, in that order."""
    if not ids:
        return []
    rows = cur.execute(
        f"SELECT {PROMPT_COLUMNS} FROM prompts p JOIN users u ON u.id = p.owner_id"
        f" WHERE p.id IN ({', '.join('?' * len(ids))})",
        ids,
    ).fetchall()
    by_id = {row[0]: Prompt(*row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]
