"""The search index: postings, a term dictionary and versions, kept in step with every prompt write.

``search_terms`` holds one row per (prompt, term): the field-weighted frequency, the prompt's
weighted length and whether the term is in the title or tags. ``search_vocab`` holds each
term's document frequency, a word it came from (to show a corrected query) and a version
bumped by every write that touches the term; ``search_state`` a version bumped by every
write at all. Readers (composite.library.ranking) cache per term and per state version and
compare versions read in the same snapshot as the data, so a committed write is seen by the
next search without any rebuild step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from composite.db import Cursor, Database, first, touch
from composite.library.scopes import SEARCH
from composite.library.tokens import MAX_TERM_LENGTH, STOP_WORDS, query_words, stem, term_words, terms

# Re-exported: the bench's generator and the tests tokenise through this module.
__all__ = ["MAX_TERM_LENGTH", "STOP_WORDS", "stem", "term_words", "terms"]

# Changes whenever what the tokeniser makes of a text changes: the index is rebuilt at start
# (composite.library.reindex).
TOKENISER = "snowball-en/cjk-bigram/1"
MAX_QUERY_TERMS = 12
# Title and tag occurrences count more inside BM25's saturating frequency...
FIELD_WEIGHTS = {"title": 3.0, "tags": 3.0, "description": 2.0, "body": 1.0}
HEAD_FIELDS = ("title", "tags")
# How many index writes search_changes remembers (pruned every that many writes).
CHANGES_KEPT = 1_000


def query_terms(query: str) -> list[str]:
    """The distinct terms of a search query (at most MAX_QUERY_TERMS)."""
    return [term for term, _ in query_words(query)][:MAX_QUERY_TERMS]


def weighted_terms(
    title: str, description: str, body: str, tags: Iterable[str]
) -> tuple[dict[str, float], float]:
    """Field-weighted term frequencies of a prompt and its weighted length."""
    postings, length, _ = prompt_postings(title, description, body, tags)
    return {term: tf for term, (tf, _) in postings.items()}, length


# A prompt's index entries: each term's (weighted frequency, in title or tags), the
# weighted length, and a word per term (what a corrected query shows).
Postings = tuple[dict[str, tuple[float, bool]], float, dict[str, str]]


def prompt_postings(title: str, description: str, body: str, tags: Iterable[str]) -> Postings:
    """Each term's (weighted frequency, in title or tags), the weighted length, and a word per term."""
    counts: Counter[str] = Counter()
    head: set[str] = set()
    words: dict[str, str] = {}
    fields = {"title": title, "description": description, "body": body, "tags": " ".join(tags)}
    for field, text in fields.items():
        weight = FIELD_WEIGHTS[field]
        for term, word in term_words(text):
            counts[term] += weight
            words.setdefault(term, word)
            if field in HEAD_FIELDS:
                head.add(term)
    postings = {term: (tf, term in head) for term, tf in counts.items()}
    return postings, float(sum(counts.values())), words


def index_prompt(
    cur: Cursor, prompt_id: int, title: str, description: str, body: str, tags: list[str]
) -> None:
    """Replace a prompt's index rows; call inside the transaction that writes the prompt."""
    touch(cur, SEARCH)
    postings, length, words = prompt_postings(title, description, body, tags)
    # A prompt never indexed (search_len 0) has no rows: skip the delete, a scan of every posting.
    row = first(cur.execute("SELECT search_len FROM prompts WHERE id = ?", [prompt_id]))
    if row is None or row[0]:
        unindex_prompt(cur, prompt_id)
    else:
        _bump_state(cur, prompt_id)
    if postings:
        cur.execute(
            "INSERT INTO search_terms (prompt_id, term, tf, doc_len, head)"
            " SELECT ?, unnest(?::VARCHAR[]), unnest(?::DOUBLE[]), ?, unnest(?::BOOLEAN[])",
            [
                prompt_id,
                list(postings),
                [p[0] for p in postings.values()],
                length,
                [p[1] for p in postings.values()],
            ],
        )
        cur.execute(
            "INSERT INTO search_vocab (term, word, df, version)"
            " SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), 1, 1"
            # The shortest word shows a corrected query best: 'translate', not 'translations'.
            " ON CONFLICT (term) DO UPDATE SET df = df + 1, version = version + 1,"
            " word = CASE WHEN length(excluded.word) < length(search_vocab.word)"
            " THEN excluded.word ELSE search_vocab.word END",
            [list(postings), [words[term] for term in postings]],
        )
    cur.execute("UPDATE prompts SET search_len = ? WHERE id = ?", [length, prompt_id])


def unindex_prompt(cur: Cursor, prompt_id: int) -> None:
    """Drop a prompt's index rows and count its terms out of the dictionary."""
    touch(cur, SEARCH)
    # One scan of the postings finds and drops the rows together.
    gone = cur.execute("DELETE FROM search_terms WHERE prompt_id = ? RETURNING term", [prompt_id]).fetchall()
    if gone:
        cur.execute(
            "UPDATE search_vocab SET df = df - 1, version = version + 1"
            " WHERE term IN (SELECT unnest(?::VARCHAR[]))",
            [[term for (term,) in gone]],
        )
    _bump_state(cur, prompt_id)


def index_new_prompts(cur: Cursor, indexed: list[tuple[int, Postings]]) -> None:
    """Add the index rows of many prompts that have none, weighed beforehand (outside the write lock).

    A few statements for the whole batch, keeping the dictionary's document frequencies and
    every version in step as index_prompt does one prompt at a time.
    """
    touch(cur, SEARCH)
    if not indexed:
        return
    _insert_postings(cur, indexed)
    _count_in_vocab(cur, *_added_terms(indexed))
    _bump_state_many(cur, [prompt_id for prompt_id, _ in indexed])


def reindex_prompts(cur: Cursor, reindexed: list[tuple[int, Postings]]) -> None:
    """Replace many indexed prompts' rows with their new postings: unindex_prompts, then index_new_prompts.

    Each term's net change is written once, and the state version bumped once. A term the
    prompts had before is in the dictionary already: those are updated by key, and only the
    terms new to these prompts go through the upsert, whose conflict check costs about ten
    times an update's per row (most terms of an edited prompt stay).
    """
    touch(cur, SEARCH)
    if not reindexed:
        return
    prompt_ids = [prompt_id for prompt_id, _ in reindexed]
    gone = _delete_postings(cur, prompt_ids)
    _insert_postings(cur, reindexed)
    df, shortest = _added_terms(reindexed)
    known = Counter({term: df.get(term, 0) - n for term, n in gone.items()})
    if known:
        cur.execute(
            "UPDATE search_vocab SET df = df + g.n, version = version + 1, word = CASE"
            " WHEN length(g.word) < length(search_vocab.word) THEN g.word ELSE search_vocab.word END"
            " FROM (SELECT unnest(?::VARCHAR[]) AS term, unnest(?::VARCHAR[]) AS word,"
            " unnest(?::BIGINT[]) AS n) g WHERE search_vocab.term = g.term",
            [list(known), [shortest.get(term) for term in known], list(known.values())],
        )
    _count_in_vocab(cur, Counter({term: n for term, n in df.items() if term not in gone}), shortest)
    _bump_state_many(cur, prompt_ids)


def unindex_prompts(cur: Cursor, prompt_ids: list[int]) -> None:
    """Drop many prompts' index rows and count their terms out of the dictionary."""
    touch(cur, SEARCH)
    if not prompt_ids:
        return
    gone = _delete_postings(cur, prompt_ids)
    if gone:
        cur.execute(
            "UPDATE search_vocab SET df = df - g.n, version = version + 1"
            " FROM (SELECT unnest(?::VARCHAR[]) AS term, unnest(?::BIGINT[]) AS n) g"
            " WHERE search_vocab.term = g.term",
            [list(gone), list(gone.values())],
        )
    _bump_state_many(cur, prompt_ids)


def _delete_postings(cur: Cursor, prompt_ids: list[int]) -> Counter[str]:
    """Drop the prompts' index rows; how many of them each term had."""
    touch(cur, SEARCH)
    gone = cur.execute(
        "DELETE FROM search_terms WHERE prompt_id IN (SELECT unnest(?::BIGINT[])) RETURNING term",
        [prompt_ids],
    ).fetchall()
    return Counter(term for (term,) in gone)


def _insert_postings(cur: Cursor, indexed: list[tuple[int, Postings]]) -> None:
    """The index rows of the prompts, in one statement."""
    touch(cur, SEARCH)
    ids, term_list, tfs, lens, heads = [], [], [], [], []
    for prompt_id, (postings, length, _) in indexed:
        ids += [prompt_id] * len(postings)
        term_list += postings
        tfs += [tf for tf, _ in postings.values()]
        heads += [head for _, head in postings.values()]
        lens += [length] * len(postings)
    if ids:
        cur.execute(
            "INSERT INTO search_terms (prompt_id, term, tf, doc_len, head) SELECT unnest(?::BIGINT[]),"
            " unnest(?::VARCHAR[]), unnest(?::DOUBLE[]), unnest(?::DOUBLE[]), unnest(?::BOOLEAN[])",
            [ids, term_list, tfs, lens, heads],
        )


def _added_terms(indexed: list[tuple[int, Postings]]) -> tuple[Counter[str], dict[str, str]]:
    """How many of the prompts have each term, and the shortest word seen for it."""
    df: Counter[str] = Counter()
    shortest: dict[str, str] = {}
    for _, (postings, _, words) in indexed:
        df.update(postings.keys())
        for term, word in words.items():
            if len(word) < len(shortest.get(term, word + " ")):
                shortest[term] = word
    return df, shortest


def _count_in_vocab(cur: Cursor, df: Counter[str], shortest: dict[str, str]) -> None:
    """Count the terms' new prompts into the dictionary, adding the terms it lacks; bump their versions."""
    touch(cur, SEARCH)
    if not df:
        return
    cur.execute(
        "INSERT INTO search_vocab (term, word, df, version)"
        " SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::BIGINT[]), 1"
        # The shortest word shows a corrected query best: 'translate', not 'translations'.
        " ON CONFLICT (term) DO UPDATE SET df = df + excluded.df, version = version + 1,"
        " word = CASE WHEN length(excluded.word) < length(search_vocab.word)"
        " THEN excluded.word ELSE search_vocab.word END",
        [list(df), [shortest[term] for term in df], list(df.values())],
    )


def visibilities_changed(cur: Cursor, prompt_ids: list[int]) -> None:
    """Call in the transaction that changes many prompts' visibility without reindexing them."""
    if prompt_ids:
        _bump_state_many(cur, prompt_ids)


def visibility_changed(cur: Cursor, prompt_id: int) -> None:
    """Call in the transaction that changes a prompt's visibility without reindexing it."""
    _bump_state(cur, prompt_id)


def _bump_state(cur: Cursor, prompt_id: int | None = None) -> None:
    touch(cur, SEARCH)
    # Visibility, ownership and the prompt count live outside the postings: one version for them.
    (version,) = first(cur.execute("UPDATE search_state SET version = version + 1 RETURNING version"))
    if prompt_id is not None:
        cur.execute("INSERT INTO search_changes VALUES (?, ?)", [version, prompt_id])
        # Older changes only serve caches that far behind; those read their lists again.
        if version % CHANGES_KEPT == 0:
            cur.execute("DELETE FROM search_changes WHERE version <= ?", [version - CHANGES_KEPT])


def _bump_state_many(cur: Cursor, prompt_ids: list[int]) -> None:
    touch(cur, SEARCH)
    # One version for a batch of prompts: a cache that far behind reads each of them again.
    (version,) = first(cur.execute("UPDATE search_state SET version = version + 1 RETURNING version"))
    cur.execute("INSERT INTO search_changes SELECT ?, unnest(?::BIGINT[])", [version, prompt_ids])
    if version % CHANGES_KEPT < 1 or len(prompt_ids) >= CHANGES_KEPT:
        cur.execute("DELETE FROM search_changes WHERE version <= ?", [version - CHANGES_KEPT])


def state_version(db: Database) -> int:
    """The version bumped by every index write (tests and caches compare it)."""
    row = db.fetchone("SELECT version FROM search_state")
    return int(row[0]) if row else 0


def max_edits(term: str) -> int:
    """How many edits a typo may be from the word meant: none for short words and CJK."""
    if not term.isascii() or not term.isalpha() or len(term) < 4:
        return 0
    return 1 if len(term) < 8 else 2


def typo_candidates(cur: Cursor, term: str, limit: int = 5) -> list[tuple[str, int]]:
    """Dictionary terms a few edits from ``term`` with the same first letter, nearest and commonest first.

    The first letter and the length window narrow the dictionary before any edit distance
    is computed: a typo in the first letter is rare, and this keeps a lookup one range scan.
    """
    edits = max_edits(term)
    if not edits:
        return []
    rows = cur.execute(
        "SELECT term, version FROM (SELECT term, version, df, damerau_levenshtein(term, ?) AS d"
        " FROM search_vocab WHERE df > 0 AND term >= ? AND term < ? AND length(term) BETWEEN ? AND ?)"
        " WHERE d BETWEEN 1 AND ? ORDER BY d, df DESC, term LIMIT ?",
        [term, term[0], chr(ord(term[0]) + 1), len(term) - edits, len(term) + edits, edits, limit],
    ).fetchall()
    return [(found, int(version)) for found, version in rows]
