"""The search index rebuilt from the prompts' text, at the first start after the tokeniser changes.

The text is tokenised in worker processes (one per core) while this process reads the next
batches from DuckDB and inserts the postings of the ones done: reading, tokenising and
inserting overlap, and at most a few batches are in memory at once. The workers are
started with "spawn": a fork of a process holding DuckDB's connection and threads is
not safe. If they cannot start (or die), the batches left are tokenised in this process,
so the rows written are the same either way: those ``search.index_prompt`` would write
prompt by prompt.

The whole rebuild is one transaction under the write lock: readers never see a half-built
index, and a kill part way rolls it back (the next start rebuilds again). It runs in the
lifespan's startup, before either port serves a request, so the lock keeps no one waiting.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, NamedTuple

import numpy as np

from composite.db import Cursor, Database, touch
from composite.library.scopes import EVERYTHING
from composite.library.search import TOKENISER, prompt_postings

log = logging.getLogger(__name__)

# Prompts a worker tokenises at a time; batches in flight are twice the workers.
BATCH = 2_000
# Each worker holds a Python with the site imported (100-200 MB): a large host need not pay for all its cores.
MAX_WORKERS = 8
Rows = list[tuple[int, str, str, str, list[str]]]


class Weighed(NamedTuple):
    """A batch's postings and prompt lengths as columns, and per term its (shortest word, prompts)."""

    postings: dict[str, np.ndarray]
    lengths: dict[str, np.ndarray]
    vocab: dict[str, tuple[str, int]]


def weigh(rows: Rows) -> Weighed:
    """The index rows of a batch of prompts (id, title, description, body, tags), in id order."""
    ids: list[int] = []
    term_list: list[str] = []
    tfs: list[float] = []
    lens: list[float] = []
    heads: list[bool] = []
    prompt_lens: list[float] = []
    vocab: dict[str, tuple[str, int]] = {}
    for prompt_id, title, description, body, tags in rows:
        postings, length, words = prompt_postings(title, description, body, tags)
        ids += [prompt_id] * len(postings)
        lens += [length] * len(postings)
        term_list += postings
        for tf, head in postings.values():
            tfs.append(tf)
            heads.append(head)
        prompt_lens.append(length)
        for term, word in words.items():
            known = vocab.get(term)
            if known is None:
                vocab[term] = (word, 1)
            else:
                # The shortest word shows a corrected query best; the first of equals stays.
                vocab[term] = (word if len(word) < len(known[0]) else known[0], known[1] + 1)
    return Weighed(
        {
            "prompt_id": np.asarray(ids, dtype=np.int64),
            "term": np.asarray(term_list, dtype=object),
            "tf": np.asarray(tfs, dtype=np.float64),
            "doc_len": np.asarray(lens, dtype=np.float64),
            "head": np.asarray(heads, dtype=bool),
        },
        {
            "id": np.asarray([row[0] for row in rows], dtype=np.int64),
            "len": np.asarray(prompt_lens, dtype=np.float64),
        },
        vocab,
    )


def catch_up(db: Database, workers: int | None = None, batch: int = BATCH) -> int:
    """Rebuild the index if another tokeniser wrote it (or none did); return the prompts indexed.

    ``workers`` tokenising processes (default one per core this process may use, at most
    MAX_WORKERS; 0 or 1 tokenises in this process), each given ``batch`` prompts at a time.
    """
    row = db.fetchone("SELECT tokeniser FROM search_state")
    if row is not None and row[0] == TOKENISER:
        return 0
    log.info("rebuilding the search index for tokeniser %s", TOKENISER)
    if workers is None:
        workers = min(
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
            MAX_WORKERS,
        )
    with db.transaction() as cur:
        touch(cur, EVERYTHING)  # a new index: every search answer, and no way to say which
        cur.execute("DELETE FROM search_terms")
        cur.execute("DELETE FROM search_vocab")
        cur.execute("DELETE FROM search_changes")
        ids = [prompt_id for (prompt_id,) in cur.execute("SELECT id FROM prompts ORDER BY id").fetchall()]
        vocab: dict[str, tuple[str, int]] = {}
        with _Pool(workers) as pool:
            for weighed in pool.weigh(_batches(cur, ids, batch)):
                _insert(cur, "search_terms", weighed.postings, "prompt_id, term, tf, doc_len, head")
                _update_lengths(cur, weighed.lengths)
                for term, (word, df) in weighed.vocab.items():
                    known = vocab.get(term)
                    # The batches come in id order: a word only replaces a longer one.
                    merged = (word, df) if known is None else (min(known[0], word, key=len), known[1] + df)
                    vocab[term] = merged
        if vocab:
            columns = {
                "term": np.asarray(list(vocab), dtype=object),
                "word": np.asarray([word for word, _ in vocab.values()], dtype=object),
                "df": np.asarray([df for _, df in vocab.values()], dtype=np.int64),
                "version": np.ones(len(vocab), dtype=np.int64),
            }
            _insert(cur, "search_vocab", columns, "term, word, df, version")
        cur.execute("UPDATE search_state SET tokeniser = ?, version = version + 1", [TOKENISER])
    return len(ids)


def _batches(cur: Cursor, ids: list[int], size: int) -> Iterator[Rows]:
    """The prompts' text, ``size`` prompts at a time in id order."""
    for start in range(0, len(ids), size):
        # A range of ids reads only the row groups holding it (DuckDB's min/max per group).
        first, last = ids[start], ids[min(start + size, len(ids)) - 1]
        yield cur.execute(
            "SELECT id, title, description, body, tags FROM prompts WHERE id BETWEEN ? AND ? ORDER BY id",
            [first, last],
        ).fetchall()


def _insert(cur: Cursor, table: str, columns: dict[str, np.ndarray], names: str) -> None:
    # Arrays handed to DuckDB as a table: some 20 times faster than list parameters.
    cur.register("rebuilt", columns)
    try:
        cur.execute(f"INSERT INTO {table} SELECT {names} FROM rebuilt")
    finally:
        cur.unregister("rebuilt")


def _update_lengths(cur: Cursor, lengths: dict[str, np.ndarray]) -> None:
    touch(cur, EVERYTHING)
    cur.register("rebuilt_lengths", lengths)
    try:
        cur.execute(
            "UPDATE prompts SET search_len = l.len FROM rebuilt_lengths l WHERE prompts.id = l.id"
            " AND prompts.id BETWEEN ? AND ?",
            [int(lengths["id"][0]), int(lengths["id"][-1])],
        )
    finally:
        cur.unregister("rebuilt_lengths")


class _Pool:
    """Worker processes that weigh batches in order, or this process once they cannot."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Pool:
        if self.workers > 1:
            try:
                spawn = multiprocessing.get_context("spawn")
                self.executor = ProcessPoolExecutor(self.workers, mp_context=spawn)
            except OSError as exc:
                log.warning("tokenising in this process: worker processes cannot start (%s)", exc)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)

    def weigh(self, batches: Iterator[Rows]) -> Iterator[Weighed]:
        """Each batch weighed, in order, with a few batches in flight ahead of the one returned."""
        pending: deque[tuple[Rows, Future[Weighed] | None]] = deque()
        for rows in batches:
            pending.append((rows, self._submit(rows)))
            if len(pending) > 2 * self.workers:
                yield self._result(*pending.popleft())
        while pending:
            yield self._result(*pending.popleft())

    def _submit(self, rows: Rows) -> Future[Weighed] | None:
        if self.executor is None:
            return None
        try:
            return self.executor.submit(weigh, rows)
        except (BrokenProcessPool, OSError, RuntimeError) as exc:
            self._give_up(exc)
            return None

    def _result(self, rows: Rows, future: Future[Weighed] | None) -> Weighed:
        if future is not None:
            try:
                return future.result()
            except (BrokenProcessPool, OSError) as exc:
                self._give_up(exc)
        return weigh(rows)

    def _give_up(self, exc: Any) -> None:
        if self.executor is not None:
            log.warning("tokenising in this process: the worker processes failed (%s)", exc)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None
