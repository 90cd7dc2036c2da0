"""Ranking a query over the postings: BM25 with a title/tag boost, typo fallback, per-term caching.

Postings are read from DuckDB once per term and kept as numpy arrays, tagged with the term's
version from ``search_vocab``; the arrays of prompts hidden from viewers with the version
of ``search_state``. Versions and data are read in one snapshot (one read transaction) and
every index write bumps them in its own transaction, so a cached array is either exactly
what a fresh read would return or is read again: a committed write is seen by the next
search. Scoring a query is then a few vector operations over its terms' postings.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from composite.db import Cursor, Database, first

K1, B = 1.2, 0.75
# A title or tag match adds more than any number of body occurrences can (BM25's part of a
# term's score never reaches k1 + 1 = 2.2 times its idf): title matches rank clearly first.
HEAD_BOOST = 2.5
# Terms found by typo tolerance count for less than the words as typed.
FUZZY_WEIGHT = 0.5
# A word is corrected when no visible prompt has it, and also tried alongside its
# correction when it is this rare and the correction is far more common.
RARE_DF = 2
RARE_RATIO = 20
MAX_CANDIDATES = 3
# Memory bound of the posting cache, in postings (21 bytes each with its visible view):
# about 170 MB, which holds the lists of some 30 common words at a million prompts.
MAX_CACHED_POSTINGS = 8_000_000
# A cached list behind by at most this many written prompts is patched, not read again.
MAX_CATCH_UP = 500
# Rankings kept (RESULT_DEPTH ids each), for repeated searches and the next pages.
MAX_CACHED_RESULTS = 1024


@dataclass(frozen=True)
class Term:
    """One term to look up: its slot (the query word it stands for) and its weight."""

    term: str
    slot: int
    weight: float = 1.0


@dataclass
class Postings:
    """One term's postings as arrays, at one version."""

    version: int
    ids: np.ndarray
    tf: np.ndarray
    doc_len: np.ndarray
    head: np.ndarray
    state: int = 0  # the search_state version these arrays were read at
    # What a viewer with no private prompts sees, worked out once per search_state version.
    public: tuple[int, np.ndarray, np.ndarray] | None = None


@dataclass
class Hidden:
    """Private prompts and the counts BM25 needs, at one search_state version."""

    version: int
    ids: np.ndarray  # the private prompts' ids
    owners: np.ndarray  # and their owners
    private: np.ndarray  # True at each private prompt's id; sized to the highest id + 1
    count: int
    avg_len: float
    owner_of: np.ndarray  # every prompt's owner by id (-1: no such prompt)
    lens: np.ndarray  # every prompt's weighted length by id (NaN: no such prompt)


@dataclass
class Ranked:
    """Matching prompt ids, best first, with how many query words each matched and its score."""

    ids: np.ndarray
    matched: np.ndarray
    score: np.ndarray
    total: int


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    terms: OrderedDict[str, Postings] = field(default_factory=OrderedDict)
    size: int = 0
    hidden: Hidden | None = None
    results: OrderedDict[Any, Any] = field(default_factory=OrderedDict)

    def result(self, key: Any) -> Any:
        """A ranking kept by store(key, ...), or None."""
        with self.lock:
            found = self.results.get(key)
            if found is not None:
                self.results.move_to_end(key)
            return found

    def store(self, key: Any, value: Any) -> None:
        """Keep a ranking; the least recently used go past MAX_CACHED_RESULTS."""
        with self.lock:
            self.results[key] = value
            while len(self.results) > MAX_CACHED_RESULTS:
                self.results.popitem(last=False)


_caches: weakref.WeakKeyDictionary[Database, _Cache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache(db: Database) -> _Cache:
    with _caches_lock:
        cache = _caches.get(db)
        if cache is None:
            cache = _caches[db] = _Cache()
        return cache


class Snapshot:
    """Postings and visibility read consistently, cached where their versions still hold."""

    def __init__(self, db: Database, cur: Cursor) -> None:
        self.cache = _cache(db)
        self.cur = cur
        row = first(cur.execute("SELECT version FROM search_state"))
        self.state_version = int(row[0]) if row else 0
        # What _changed_since found, by version: after a write, every cached list asks the same.
        self._changes: dict[int, np.ndarray | None] = {}

    def versions(self, terms: list[str]) -> dict[str, tuple[int, str]]:
        """Version and word of each term the dictionary holds."""
        if not terms:
            return {}
        # Bound one by one, so the lookup probes the primary key instead of joining a list.
        marks = ", ".join("?" * len(terms))
        rows = self.cur.execute(
            f"SELECT term, version, word FROM search_vocab WHERE term IN ({marks})", terms
        ).fetchall()
        return {term: (int(version), word) for term, version, word in rows}

    def postings(self, term: str, version: int) -> Postings:
        """A term's postings at this version, from the cache or read now."""
        cache = self.cache
        with cache.lock:
            hit = cache.terms.get(term)
            if hit is not None and hit.version == version:
                cache.terms.move_to_end(term)
                return hit
        found = self._catch_up(term, version, hit) if hit is not None else None
        if found is None:
            arrays = self.cur.execute(
                "SELECT prompt_id, tf, doc_len, head FROM search_terms WHERE term = ?", [term]
            ).fetchnumpy()
            found = _postings(version, self.state_version, arrays)
        with cache.lock:
            old = cache.terms.pop(term, None)
            if old is not None:
                cache.size -= len(old.ids)
            cache.terms[term] = found
            cache.size += len(found.ids)
            while cache.size > MAX_CACHED_POSTINGS and len(cache.terms) > 1:
                _, evicted = cache.terms.popitem(last=False)
                cache.size -= len(evicted.ids)
        return found

    def _catch_up(self, term: str, version: int, old: Postings) -> Postings | None:
        """Cached postings brought up to date with the prompts written since, or None if too far behind."""
        changed = self._changed_since(old.state)
        if changed is None:
            return None
        fresh: dict[str, Any] = {"prompt_id": [], "tf": [], "doc_len": [], "head": []}
        if len(changed):
            marks = ", ".join("?" * len(changed))
            fresh = self.cur.execute(
                "SELECT prompt_id, tf, doc_len, head FROM search_terms"
                f" WHERE term = ? AND prompt_id IN ({marks})",
                [term, *changed.tolist()],
            ).fetchnumpy()
        keep = ~np.isin(old.ids, changed)
        update = _postings(version, self.state_version, fresh)
        return Postings(
            version,
            np.concatenate([old.ids[keep], update.ids]),
            np.concatenate([old.tf[keep], update.tf]),
            np.concatenate([old.doc_len[keep], update.doc_len]),
            np.concatenate([old.head[keep], update.head]),
            self.state_version,
        )

    def hidden(self) -> Hidden:
        """Private prompts with their owners, the number of prompts and their mean length."""
        cached = self.cache.hidden
        if cached is not None and cached.version == self.state_version:
            return cached
        found = self._patch_hidden(cached) if cached is not None else None
        if found is None:
            arrays = self.cur.execute(
                "SELECT id, owner_id, visibility <> 'public' AS private, search_len FROM prompts"
            ).fetchnumpy()
            top = int(np.max(arrays["id"])) if len(arrays["id"]) else 0
            empty = Hidden(
                0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(1, bool), 0, 1.0, *_blank(1)
            )
            found = _apply(empty, self.state_version, arrays, top)
        self.cache.hidden = found
        return found

    def _patch_hidden(self, old: Hidden) -> Hidden | None:
        """The cached visibility brought up to date with the prompts written since, or None."""
        changed = self._changed_since(old.version)
        if changed is None:
            return None
        marks = ", ".join("?" * len(changed)) or "NULL"
        arrays = self.cur.execute(
            "SELECT id, owner_id, visibility <> 'public' AS private, search_len FROM prompts"
            f" WHERE id IN ({marks})",
            changed.tolist(),
        ).fetchnumpy()
        top = max(len(old.private) - 1, int(changed.max()) if len(changed) else 0)
        return _apply(old, self.state_version, arrays, top, changed)

    def _changed_since(self, version: int) -> np.ndarray | None:
        """Prompts written since a search_state version, or None if too many or forgotten."""
        if version in self._changes:
            return self._changes[version]
        # One query: the changes, and the oldest version still remembered (0 when none are).
        arrays = self.cur.execute(
            "SELECT DISTINCT prompt_id, (SELECT coalesce(min(version), 0) FROM search_changes) AS oldest"
            " FROM search_changes WHERE version > ? AND version <= ?",
            [version, self.state_version],
        ).fetchnumpy()
        changed, oldest = arrays["prompt_id"], arrays["oldest"]
        found: np.ndarray | None = np.asarray(changed, dtype=np.int64)
        if (len(oldest) and int(oldest[0]) > version + 1) or len(changed) > MAX_CATCH_UP:
            found = None  # the changes it would need are pruned, or reading them costs more
        elif not len(changed) and version < self.state_version:
            # Nothing in range: either nothing was written, or what was is pruned. Ask which.
            oldest_sql = "SELECT coalesce(min(version), 0) FROM search_changes"
            (oldest_kept,) = first(self.cur.execute(oldest_sql)) or (0,)
            if oldest_kept > version + 1:
                found = None
        self._changes[version] = found
        return found


def _blank(size: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(size, -1, dtype=np.int64), np.full(size, np.nan)


def _apply(
    old: Hidden, version: int, arrays: dict[str, Any], top: int, changed: np.ndarray | None = None
) -> Hidden:
    """A new Hidden: old's arrays (copied, grown to top + 1) with the rows read now applied."""
    size = top + 1
    owner_of, lens = _blank(size)
    private = np.zeros(size, dtype=bool)
    n = len(old.private)
    owner_of[:n], lens[:n], private[:n] = old.owner_of[:n], old.lens[:n], old.private[:n]
    count, total = old.count, old.avg_len * old.count
    if changed is not None and len(changed):
        gone = lens[changed]
        count -= int(np.count_nonzero(~np.isnan(gone)))
        total -= float(np.nansum(gone))
        owner_of[changed], lens[changed], private[changed] = -1, np.nan, False
    ids = np.asarray(arrays["id"], dtype=np.int64)
    owner_of[ids] = np.asarray(arrays["owner_id"], dtype=np.int64)
    lens[ids] = np.asarray(arrays["search_len"], dtype=np.float64)
    private[ids] = np.asarray(arrays["private"], dtype=bool)
    count += len(ids)
    total += float(np.sum(lens[ids]))
    hidden_ids = np.flatnonzero(private)
    avg_len = max(total / count, 1.0) if count else 1.0
    return Hidden(version, hidden_ids, owner_of[hidden_ids], private, count, avg_len, owner_of, lens)


def _postings(version: int, state: int, arrays: dict[str, Any]) -> Postings:
    # Narrow types: 13 bytes a posting, plus 8 for the visible view (ids below 2**31).
    return Postings(
        version,
        np.asarray(arrays["prompt_id"], dtype=np.int32),
        np.asarray(arrays["tf"], dtype=np.float32),
        np.asarray(arrays["doc_len"], dtype=np.float32),
        np.asarray(arrays["head"], dtype=bool),
        state,
    )


def read_snapshot(db: Database) -> tuple[Cursor, Snapshot]:
    """Open a read transaction on this thread's cursor (end it with ``cur.execute('COMMIT')``)."""
    cur = db.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        return cur, Snapshot(db, cur)
    except BaseException:
        cur.execute("ROLLBACK")
        raise


@dataclass
class Scorer:
    """Scores query terms for one viewer over one snapshot."""

    snapshot: Snapshot
    viewer_id: int | None
    _visible_count: int = 0
    _hidden: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=bool))
    _avg_len: float = 1.0
    _term_cache: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        hidden = self.snapshot.hidden()
        self._hidden = hidden.private
        mine = hidden.ids[hidden.owners == (self.viewer_id if self.viewer_id is not None else -1)]
        if len(mine):
            self._hidden = hidden.private.copy()
            self._hidden[mine] = False
        self._visible_count = max(hidden.count - (len(hidden.ids) - len(mine)), 0)
        self._avg_len = hidden.avg_len

    @property
    def shared(self) -> bool:
        """Whether this viewer sees what anyone without private prompts sees."""
        return self._hidden is self.snapshot.hidden().private

    @property
    def size(self) -> int:
        """One more than the highest prompt id in the snapshot: the length of id-indexed arrays."""
        return len(self._hidden)

    def visible(self, term: str, version: int) -> tuple[np.ndarray, np.ndarray]:
        """A term's postings the viewer may see, as (ids, BM25 part before idf)."""
        if term in self._term_cache:
            return self._term_cache[term]
        posting = self.snapshot.postings(term, version)
        shared = self.shared
        state = self.snapshot.state_version
        if shared and posting.public is not None and posting.public[0] == state:
            found = posting.public[1:]
            self._term_cache[term] = found
            return found
        keep = ~self._hidden[posting.ids]
        ids, tf, doc_len, head = (
            posting.ids[keep],
            posting.tf[keep],
            posting.doc_len[keep],
            posting.head[keep],
        )
        norm = np.float32(K1 * (1 - B)) + np.float32(K1 * B / self._avg_len) * doc_len
        part = tf * np.float32(K1 + 1) / (tf + norm) + np.float32(HEAD_BOOST) * head
        self._term_cache[term] = (ids, part)
        if shared:
            posting.public = (state, ids, part)
        return ids, part

    def idf(self, df: int) -> float:
        """BM25's idf over the prompts the viewer may see."""
        n = self._visible_count
        return float(np.log(1 + (n - df + 0.5) / (df + 0.5)))

    def rank(
        self, terms: list[Term], versions: dict[str, tuple[int, str]], allowed: np.ndarray | None
    ) -> Ranked:
        """Every visible prompt matching any term: most query words matched, then highest score.

        Scores and matched words are added up in arrays indexed by prompt id (bincount), which
        costs one pass over the postings and one over the id range: no sort, no hash table.
        """
        size = self.size
        id_parts, score_parts, slots = [], [], {}
        for item in terms:
            if item.term not in versions:
                continue
            ids, part = self.visible(item.term, versions[item.term][0])
            if not len(ids):
                continue
            id_parts.append(ids)
            score_parts.append(part * (self.idf(len(ids)) * item.weight))
            slots.setdefault(item.slot, []).append(ids)
        if not id_parts:
            empty = np.zeros(0, dtype=np.int64)
            return Ranked(empty, empty, np.zeros(0), 0)
        all_ids = np.concatenate(id_parts)
        score = np.bincount(all_ids, weights=np.concatenate(score_parts), minlength=size)
        # A prompt matched by a word and by its typo correction matched one word, not two.
        counted = [
            np.unique(np.concatenate(group)) if len(group) > 1 else group[0] for group in slots.values()
        ]
        matched = np.bincount(np.concatenate(counted), minlength=size)
        if allowed is not None:
            matched[~allowed[:size]] = 0
        hits = np.flatnonzero(matched)
        return Ranked(hits, matched[hits], score[hits], len(hits))


def order(ranked: Ranked, count: int) -> np.ndarray:
    """Positions of the best ``count`` matches, in order (words matched, score, newest id)."""
    if len(ranked.ids) == 0 or count <= 0:
        return np.zeros(0, dtype=np.int64)
    picked = []
    # Most words matched first: take whole levels until count is reached, sorting only the
    # last level's best, so a page costs a partition of one level, not a sort of every match.
    for level in range(int(ranked.matched.max()), 0, -1):
        positions = np.flatnonzero(ranked.matched == level)
        if not len(positions):
            continue
        scores = ranked.score[positions]
        wanted = count - sum(len(p) for p in picked)
        if wanted < len(positions):
            top = np.argpartition(-scores, wanted - 1)[:wanted]
            # Ties at the cut: argpartition picks any of them; keep every tied one, then sort.
            top = np.flatnonzero(scores >= scores[top].min())
            positions, scores = positions[top], scores[top]
        ordered = positions[np.lexsort((-ranked.ids[positions], -scores))]
        picked.append(ordered[:wanted])
        if sum(len(p) for p in picked) >= count:
            break
    return np.concatenate(picked)[:count]
