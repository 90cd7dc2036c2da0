"""What an answer read, by scope, so that a kept answer is dropped only by the writes that change it.

The process is its database's only writer, so it can count commits per *scope*: a name
for a part of what readers see ("prompt:42", "listing:stars", "credentials"). Writers
name the scopes they change (``touch``) inside their transaction; the counters move after
COMMIT, under the write lock, before the writer returns. Readers name the scopes they are
about to read (``Database.reading``), which records each scope's counter *before* the
query runs. An answer made from those reads is current exactly while none of the recorded
counters has moved: one that overlapped a commit to a scope it read is never kept.

Scopes are counted in a fixed table of ``SLOTS`` counters, by a hash of the name: one
entry per prompt or user ever written would grow for the life of the process (an import
of a million prompts, a million entries). Two names in one slot only make a write drop
a little more than it had to; nothing is ever kept past a write to what it read.

Safe by default, in both directions:

- a query run outside any ``reading`` block while an answer is being recorded makes that
  answer depend on every commit (``Reads.unscoped``), as the single write generation did;
- a write transaction that touches no scope moves ``EVERYTHING``, which every scoped
  answer depends on: a writer that does not know what it changes empties every cache.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The scope every kept answer depends on: moved by a commit that touched no scope of its own.
EVERYTHING = "*"
# What a transaction names when it knows it changed nothing readers see (a star already
# there): no counter moves for it, where touching nothing would move EVERYTHING.
NOTHING = ""
# Counters for all other scopes, by hash: 512 KiB. A page reads about 25 scopes, so a
# write to one scope drops an unrelated page about once in 2,600. The first few slots are
# for names without a key ("listed", "search"), one each in the order they are first
# used: every listing reads them, so no other scope may share theirs.
SLOTS = 1 << 16
_NAMED = 64
_named: dict[str, int] = {}


def slot(scope: str) -> int:
    """The counter a scope is counted in.

    CRC-32 rather than hash(): the same slots on every run, so which names share one
    (tests of what a write drops) does not change with the process's hash seed.
    """
    if ":" in scope:
        return _NAMED + zlib.crc32(scope.encode()) % (SLOTS - _NAMED)
    index = _named.get(scope)
    if index is None:  # a program names a handful of these; past _NAMED they share slots
        index = _named.setdefault(scope, len(_named) % _NAMED)
    return index


class Reads:
    """What one answer (or one kept value) read: each scope's counter before it was read."""

    __slots__ = ("everything", "generation", "scopes", "unscoped")

    def __init__(self, generation: int, everything: int) -> None:
        self.generation = generation  # commits when recording began: what an unscoped read needs
        self.everything = everything
        self.scopes: dict[int, int] = {}  # slot -> its count before the read
        self.unscoped = False

    def merge(self, other: Reads) -> None:
        """Take in what another answer read (a kept value this one is made of), oldest counters kept."""
        self.unscoped |= other.unscoped
        self.generation = min(self.generation, other.generation)
        self.everything = min(self.everything, other.everything)
        for scope, count in other.scopes.items():
            mine = self.scopes.get(scope)
            if mine is None or count < mine:
                self.scopes[scope] = count


# The answer being recorded in this context (a request's task, and the threads it runs on,
# which copy the context and so share the same Reads object).
_recording: ContextVar[Reads | None] = ContextVar("composite_reads", default=None)
# True inside a reading() block: its queries are covered by the scopes it named.
_scoped: ContextVar[bool] = ContextVar("composite_scoped", default=False)


class Scopes:
    """The commit counters of one database: in all, per scope, and of scope-less writes."""

    def __init__(self) -> None:
        self.generation = 0  # every commit
        self.everything = 0  # commits that named no scope, or EVERYTHING
        self.counts = array("Q", bytes(8 * SLOTS))

    def committed(self, touched: Iterable[str]) -> None:
        """Count one commit; called after COMMIT with the write lock held."""
        self.generation += 1
        names = set(touched)
        slots = {slot(scope) for scope in names if scope not in (EVERYTHING, NOTHING)}
        if names == {NOTHING}:
            return
        if not slots or EVERYTHING in names:
            self.everything += 1
        counts = self.counts
        for index in slots:
            counts[index] += 1

    def count(self, scope: str) -> int:
        """The commits counted so far for a scope (shared with the other names of its slot)."""
        return self.everything if scope == EVERYTHING else self.counts[slot(scope)]

    def start(self) -> tuple[Reads, object]:
        """Begin recording what this context reads; give the record and what stop() needs."""
        reads = Reads(self.generation, self.everything)
        return reads, _recording.set(reads)

    def stop(self, token: object) -> None:
        """End the recording begun by start() (the one before it, if any, records again)."""
        _recording.reset(token)  # type: ignore[arg-type]

    def fresh(self, reads: Reads) -> bool:
        """Whether nothing the answer read has changed since it was read."""
        if reads.everything != self.everything:
            return False
        if reads.unscoped and reads.generation != self.generation:
            return False
        counts = self.counts
        return all(counts[index] == count for index, count in reads.scopes.items())

    def declare(self, scopes: Iterable[str]) -> None:
        """Record, for the answer being made, that it reads these scopes as they are now."""
        reads = _recording.get()
        if reads is not None:
            counts, mine = self.counts, reads.scopes
            for scope in scopes:
                index = slot(scope)
                if index not in mine:
                    mine[index] = counts[index]

    @contextmanager
    def reading(self, scopes: Iterable[str]) -> Iterator[Callable[[Iterable[str]], None]]:
        """Queries inside read only these scopes: each is recorded before any of them runs.

        The block is given ``also(scopes)``, for scopes learnt from what a query returned
        (the prompts on a page): their counts are read after that query, so if anything
        committed since the block began the answer is marked as depending on every commit,
        which it then already fails.
        """
        self.declare(scopes)
        began = self.generation

        def also(more: Iterable[str]) -> None:
            self.declare(more)
            if self.generation != began:
                reads = _recording.get()
                if reads is not None:
                    reads.unscoped = True

        token = _scoped.set(True)
        try:
            yield also
        finally:
            _scoped.reset(token)


def note_query() -> None:
    """A query is about to run: outside a reading() block, the answer now depends on every commit."""
    if not _scoped.get():
        reads = _recording.get()
        if reads is not None:
            reads.unscoped = True


def current_reads() -> Reads | None:
    """The record of the answer being made in this context, if one is being recorded."""
    return _recording.get()
