"""The search index rebuilt from the prompts' text, at the first start after the tokeniser changes.

A library of fewer than IN_PROCESS_BELOW prompts is tokenised in this process, and no
other process is started. A larger one is tokenised in worker processes (one per core)
while this process reads the next batches from DuckDB and inserts the postings of the ones
done: reading, tokenising and inserting overlap, and at most a few batches are in memory
at once. The workers are plain child processes (``subprocess``, not ``multiprocessing``;
see _Worker for why) and the rebuild waits for each to exit: none outlives it. If they
cannot start (or die), the batches left are tokenised in this process, so the rows written
are the same either way: those ``search.index_prompt`` would write prompt by prompt.

The whole rebuild is one transaction under the write lock: readers never see a half-built
index, and a kill part way rolls it back (the next start rebuilds again). It runs in the
lifespan's startup, before either port serves a request, so the lock keeps no one waiting.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, NamedTuple, cast

import numpy as np

from composite.db import Cursor, Database, touch
from composite.library.scopes import EVERYTHING
from composite.library.search import TOKENISER, prompt_postings

log = logging.getLogger(__name__)

# Prompts a worker tokenises at a time; batches in flight are twice the workers.
BATCH = 2_000
# Each worker holds a Python with the site imported (100-200 MB): a large host need not pay for all its cores.
MAX_WORKERS = 8
# Fewer prompts than this are tokenised in this process: a worker costs a Python start-up and
# 100 MB, and at 20,000 prompts (10 batches, about 7 s in process) two workers were no faster.
IN_PROCESS_BELOW = 20_000
# The interpreter the workers run: this one, with the same installed packages.
PYTHON = sys.executable
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


def worker_count(
    prompts: int, workers: int | None = None, batch: int = BATCH, in_process_below: int = IN_PROCESS_BELOW
) -> int:
    """How many worker processes tokenise ``prompts`` prompts; 0 means this process alone."""
    if prompts < in_process_below:
        return 0
    if workers is None:
        workers = min(
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
            MAX_WORKERS,
        )
    # One worker gains nothing over this process, and more workers than batches stay idle.
    workers = min(workers, -(-prompts // batch))
    return workers if workers > 1 else 0


def catch_up(
    db: Database, workers: int | None = None, batch: int = BATCH, in_process_below: int = IN_PROCESS_BELOW
) -> int:
    """Rebuild the index if another tokeniser wrote it (or none did); return the prompts indexed.

    At most ``workers`` tokenising processes (default one per core this process may use, at
    most MAX_WORKERS; 0 or 1 tokenises in this process), each given ``batch`` prompts at a
    time, and none for fewer than ``in_process_below`` prompts (see worker_count).
    """
    row = db.fetchone("SELECT tokeniser FROM search_state")
    if row is not None and row[0] == TOKENISER:
        return 0
    log.info("rebuilding the search index for tokeniser %s", TOKENISER)
    with db.transaction() as cur:
        touch(cur, EVERYTHING)  # a new index: every search answer, and no way to say which
        cur.execute("DELETE FROM search_terms")
        cur.execute("DELETE FROM search_vocab")
        cur.execute("DELETE FROM search_changes")
        ids = [prompt_id for (prompt_id,) in cur.execute("SELECT id FROM prompts ORDER BY id").fetchall()]
        vocab: dict[str, tuple[str, int]] = {}
        workers = worker_count(len(ids), workers, batch, in_process_below)
        if workers:
            log.info("tokenising %d prompts in %d worker processes", len(ids), workers)
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


# A frame on a worker's pipes: the length of a pickle (8 bytes, big-endian), then the pickle.
_LENGTH = struct.Struct(">Q")
# What a worker runs: this package from where this process found it, in the same interpreter.
_WORKER_CODE = (
    f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r});"
    " from composite.library.reindex import work; work()"
)
# A worker told to stop is idle and exits at once; one that does not is killed after this.
STOP_TIMEOUT = 10.0
# What a worker that cannot start, dies or sends garbage raises here: the rest goes in process.
# ValueError is a batch sent on a pipe that _stop closed meanwhile, after another worker failed.
_WORKER_ERRORS = (OSError, EOFError, ValueError, pickle.UnpicklingError, CancelledError)


def work() -> None:
    """A worker process: weigh each batch read on stdin and write it back on stdout, until stdin ends."""
    # Ctrl-C reaches the whole process group: the parent decides, and stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Only frames may reach the parent's pipe: anything printed goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        while (rows := _receive(sys.stdin.buffer)) is not None:
            _send(out, weigh(cast(Rows, rows)))
    except BrokenPipeError:
        pass  # the parent has gone: nobody wants the rest


def _send(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> object | None:
    """The next value on ``stream``, or None where it ends between two frames."""
    head = stream.read(_LENGTH.size)
    if not head:
        return None
    if len(head) < _LENGTH.size:
        raise EOFError("the pipe ended inside a frame's length")
    (size,) = _LENGTH.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the pipe ended inside a frame")
    return pickle.loads(data)  # noqa: S301 - our own child's output, not outside input


class _Worker:
    """One worker process: a batch written to its stdin, the batch weighed read from its stdout.

    Started with ``subprocess``, not ``multiprocessing``: multiprocessing's "spawn" (and
    "forkserver") also start its resource tracker, a process that stays until this one exits
    whatever the pool does, and stopping it takes private API (``resource_tracker._stop``)
    that would break any other user of multiprocessing here; "fork" starts no tracker but is
    unsafe in a process holding DuckDB's connection and threads. A child of our own has no
    helper process, and its whole life is visible here: it exits when its stdin closes, which
    the rebuild does at its end (and the kernel does if this process dies), and is waited for.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [PYTHON, "-c", _WORKER_CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def weigh(self, rows: Rows) -> Weighed:
        """The batch weighed by the worker; raises one of _WORKER_ERRORS if it cannot answer."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        _send(self.process.stdin, rows)
        weighed = _receive(self.process.stdout)
        if not isinstance(weighed, Weighed):
            raise EOFError(f"the worker process exited ({self.process.poll()})")
        return weighed

    def end(self, kill: bool) -> None:
        """Close its stdin, which ends its loop, or kill it (which ends any weigh in progress)."""
        if kill:
            self.process.kill()
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass  # it died with a frame unsent: it is being waited for all the same

    def wait(self) -> None:
        """Wait until it has exited (killing it if it does not go), and close its pipes."""
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class _Pool:
    """Worker processes that weigh batches in order, or this process once they cannot.

    One thread per worker writes a batch to it and reads the result back: the threads wait on
    pipes (without the GIL) while this thread reads and inserts.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.started: list[_Worker] = []
        self.idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        self.executor: ThreadPoolExecutor | None = None

    def __enter__(self) -> _Pool:
        if self.workers > 1:
            try:
                for _ in range(self.workers):
                    worker = _Worker()
                    self.started.append(worker)
                    self.idle.put(worker)
            except OSError as exc:
                log.warning("tokenising in this process: worker processes cannot start (%s)", exc)
                self._stop(kill=True)
            else:
                self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="reindex")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        # A rebuild that failed may leave batches in flight: kill rather than wait for them.
        self._stop(kill=exc_type is not None)

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
        return None if self.executor is None else self.executor.submit(self._weigh_in_worker, rows)

    def _weigh_in_worker(self, rows: Rows) -> Weighed:
        # As many threads as workers: one is always idle when a thread takes a batch.
        worker = self.idle.get()
        try:
            return worker.weigh(rows)
        finally:
            self.idle.put(worker)

    def _result(self, rows: Rows, future: Future[Weighed] | None) -> Weighed:
        if future is not None:
            try:
                return future.result()
            except _WORKER_ERRORS as exc:
                if self.executor is not None:
                    log.warning("tokenising in this process: the worker processes failed (%s)", exc)
                    self._stop(kill=True)
        return weigh(rows)

    def _stop(self, kill: bool) -> None:
        """End every worker process and wait until each has exited: none outlives the rebuild."""
        for worker in self.started:
            worker.end(kill)
        if self.executor is not None:
            # Threads still waiting on a pipe return once its process has ended.
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None
        for worker in self.started:
            worker.wait()
        self.started.clear()
