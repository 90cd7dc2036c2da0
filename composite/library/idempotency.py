"""Idempotency keys: a write sent again with the same key gets its first answer, not a second write.

As Stripe and the IETF httpapi draft "The Idempotency-Key HTTP Header Field" have it: a
client names an attempt with a key of its choosing and sends the same key when it retries.
Within ``KEPT_FOR`` of the first answer, the same key (per user) with the same request
gets that answer again (status and body) and nothing is written; with another request it
gets 422; while the first request is still being served, 409.

Only an answer of a write that took place is kept: a refused request wrote nothing, so
sending it again simply runs it again. The answer is written in the write's own
transaction (the domain's ``then`` hooks), so a crash cannot keep a write without its
answer or an answer without its write. An import writes in many transactions and keeps
its answer in one of its own after them; a crash between the two leaves a retry that
imports again, which merges rather than duplicates.

Costs are bounded: a key is at most ``MAX_KEY_LENGTH`` characters, an answer is kept
compressed and at most ``MAX_ANSWER_BYTES`` (an import's report, the largest, is bounded
by the import's own limit of items), and expired rows are deleted at most
``PURGE_BATCH`` at a time, at most once every ``PURGE_EVERY`` seconds, in a write that
records a key.
"""

from __future__ import annotations

import hashlib
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from composite.db import Cursor, Database, first, unchanged
from composite.library.errors import Conflict, Invalid

T = TypeVar("T")
# What a write calls in its own transaction with its result, to keep the answer beside it.
KeepHook = Callable[[Cursor, T], None]

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Visible ASCII, as the draft's sf-string; one pair of quotes around it (its form) is taken off.
KEY_PATTERN = r'^(?:"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,255}"|[\x21\x23-\x7e]{1,255})$'
KEPT_FOR = timedelta(hours=24)
# 50,000 imported items of about 150 bytes each, compressed several times over, fit well within.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
PURGE_EVERY = 60.0
PURGE_BATCH = 1000


class KeyReused(Invalid):
    """The key names an earlier request that differs from this one (422, the header at fault)."""


@dataclass(frozen=True)
class Answer:
    """A kept answer: its HTTP status and its body (JSON)."""

    status: int
    body: bytes


def request_digest(*parts: str | bytes) -> bytes:
    """What identifies a request for its key: the route, its parameters and its body."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))  # so that parts never run into each other
        digest.update(data)
    return digest.digest()


def normalised(key: str) -> str:
    """The key without the quotes of its sf-string form, so that "abc" and abc are one key."""
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


class Once:
    """One request under its key: the answer to repeat, or hooks that keep the answer it makes."""

    def __init__(self, keys: IdempotencyKeys, user_id: int, key: str | None, digest: bytes) -> None:
        self._keys = keys
        self._user_id = user_id
        self._key = key
        self._digest = digest
        self.replay: Answer | None = None  # the first request's answer, when this is a repeat
        self.answer: Answer | None = None  # the answer kept for this request, once written

    def keep(self, render: Callable[[T], Answer]) -> KeepHook[T] | None:
        """A hook that keeps ``render(result)`` in the write's transaction (None without a key)."""
        if self._key is None:
            return None
        key = self._key

        def record(cur: Cursor, result: T) -> None:
            self.answer = render(result)
            self._keys.record(cur, self._user_id, key, self._digest, self.answer)

        return record

    def store(self, answer: Answer) -> None:
        """Keep the answer of a write that made its own transactions, in one more."""
        self.answer = answer
        if self._key is not None:
            key = self._key
            self._keys.db.write(lambda cur: self._keys.record(cur, self._user_id, key, self._digest, answer))


class IdempotencyKeys:
    """The keys of the requests this process is serving, and the answers kept in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._running: set[tuple[int, str]] = set()
        self._lock = threading.Lock()
        self._next_purge = 0.0

    @contextmanager
    def once(self, user_id: int, key: str | None, digest: bytes) -> Iterator[Once]:
        """A request under ``key``: 409 while another with it runs, 422 if it differs from the first."""
        if key is None:
            yield Once(self, user_id, None, digest)
            return
        key = normalised(key)
        claim = (user_id, key)
        # Claimed before the kept answer is read: the first request gives up its claim only
        # after its answer has committed, so a repeat sees one or the other.
        with self._lock:
            if claim in self._running:
                raise Conflict(
                    f"a request with this {HEADER} is still being served; send it again once it is answered"
                )
            self._running.add(claim)
        try:
            once = Once(self, user_id, key, digest)
            once.replay = self._kept(user_id, key, digest)
            yield once
        finally:
            with self._lock:
                self._running.discard(claim)

    def run(
        self,
        user_id: int,
        key: str | None,
        digest: bytes,
        write: Callable[[KeepHook[T] | None], T],
        render: Callable[[T], Answer],
    ) -> Answer:
        """``write`` run once under ``key``, given the hook keeping its answer; a repeat gets that answer."""
        with self.once(user_id, key, digest) as once:
            if once.replay is not None:
                return once.replay
            result = write(once.keep(render))
        return once.answer or render(result)

    def _kept(self, user_id: int, key: str, digest: bytes) -> Answer | None:
        row = self.db.fetchone(
            "SELECT request_digest, status, answer FROM idempotency_keys"
            " WHERE user_id = ? AND key = ? AND created_at >= ?",
            [user_id, key, _now() - KEPT_FOR],
        )
        if row is None:
            return None
        if bytes(row[0]) != digest:
            raise KeyReused(
                {HEADER: "this key was used for a different request; use a new key for a new request"}
            )
        return Answer(row[1], zlib.decompress(row[2]))

    def record(self, cur: Cursor, user_id: int, key: str, digest: bytes, answer: Answer) -> None:
        """Keep an answer under its key, in the transaction ``cur`` has open; purge some expired ones."""
        packed = zlib.compress(answer.body, 1)
        if len(packed) > MAX_ANSWER_BYTES:
            return  # not kept: a repeat runs again, which no bounded request comes near
        # An expired row of the same key may still be there: it is replaced.
        cur.execute(
            "INSERT INTO idempotency_keys (user_id, key, request_digest, status, answer, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, key) DO UPDATE SET"
            " request_digest = excluded.request_digest, status = excluded.status,"
            " answer = excluded.answer, created_at = excluded.created_at",
            [user_id, key, digest, answer.status, packed, _now()],
        )
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY
            purge(cur)
        # Kept answers are read by no cached page: this commit need not empty any cache.
        unchanged(cur)


def purge(cur: Cursor, limit: int = PURGE_BATCH) -> int:
    """Delete up to ``limit`` expired keys, the oldest first; return how many went."""
    # Rows arrive in time order, so DuckDB's min/max per row group skips the recent ones.
    found = first(
        cur.execute(
            "DELETE FROM idempotency_keys WHERE rowid IN"
            " (SELECT rowid FROM idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)",
            [_now() - KEPT_FOR, limit],
        )
    )
    return int(found[0]) if found else 0


def _now() -> datetime:
    """Now in UTC, without a zone (the column's type)."""
    return datetime.now(UTC).replace(tzinfo=None)


def answer_json(status: int, model: Any) -> Answer:
    """An answer whose body is a pydantic model's JSON."""
    return Answer(status, model.model_dump_json().encode())
