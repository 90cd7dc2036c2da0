"""Database: the one DuckDB connection this process shares, with a cursor per thread."""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from composite.db import schema
from composite.db.groupcommit import GroupCommit
from composite.db.memo import ExactMemo
from composite.db.scopes import NOTHING, Scopes, note_query
from composite.db.space import DiskSpace, is_invalidated, is_no_space
from composite.db.wal import set_aside_unreadable_wal

log = logging.getLogger("composite.db")

Cursor = duckdb.DuckDBPyConnection
# What a failing query raises, for code that must not depend on duckdb itself.
QueryError = duckdb.Error
T = TypeVar("T")

# A web server's queries are many and small, each already on its own request thread: DuckDB
# workers on top of that only add hand-offs and contention (measured: about 1.4x the API's
# requests per second with one, and no slower for a single search at a million prompts).
SERVER_QUERY_THREADS = 1
# Every thread that runs a query leaves pages in DuckDB's allocator (jemalloc) that are free
# but still resident, about 1 MiB per request thread, and without a thread of its own the
# allocator returns them only when it next allocates in the same place: after a burst they
# stayed resident for good. With its background threads (DuckDB's setting, off by default)
# they go back within seconds: 40 threads' worth fell from 72 to 9 MiB resident.
_OPEN_CONFIG: dict[str, Any] = {"allocator_background_threads": True}
# The scopes each open write transaction has touched, by its cursor (see touch()).
_TOUCHED: dict[int, set[str]] = {}
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")


class DatabaseError(RuntimeError):
    """The database cannot be used; the message is meant for the operator."""


class DatabaseClosedError(DatabaseError):
    """The database was used after close()."""


class DiskFullError(DatabaseError):
    """A write refused or failed for lack of disk space; nothing of it was kept."""


class DatabaseInvalidatedError(DatabaseError):
    """DuckDB hit a fatal error: this instance answers nothing until the process restarts."""


class DatabaseLockedError(DatabaseError):
    """Another process holds the database file open read-write."""

    def __init__(
        self, path: Path, pid: int | None, program: str | None, option: str = "DATABASE_PATH"
    ) -> None:
        holder = f"process {pid} ({program})" if pid else "another process"
        # ``option``: the setting that named the file, so the operator knows what to change.
        super().__init__(f"database {path} is locked by {holder}; stop it or use another {option}")
        self.path, self.pid, self.program = path, pid, program


@dataclass
class LockHolds:
    """How long writers held the write lock: count, total and longest, in seconds.

    ``longest`` is wall time, what other writers wait; ``longest_cpu`` is the CPU time of the
    holding thread (DuckDB runs a query on its caller's thread), which a busy machine
    does not stretch.
    """

    count: int = 0
    total: float = 0.0
    longest: float = 0.0
    longest_cpu: float = 0.0
    # How long writers waited for the lock before holding it: what a busy writer costs others.
    waited: float = 0.0
    longest_wait: float = 0.0
    # Holds longer than each of HOLD_BOUNDS, so that a scrape before and after any stretch
    # of time tells how many long holds fell within it (``longest`` is since the start).
    longer_than: list[int] = field(default_factory=lambda: [0] * len(HOLD_BOUNDS))

    def record(self, seconds: float, cpu_seconds: float, waited: float = 0.0) -> None:
        """Add one hold; called with the write lock held, so no lock of its own is needed."""
        self.count += 1
        self.total += seconds
        self.longest = max(self.longest, seconds)
        self.longest_cpu = max(self.longest_cpu, cpu_seconds)
        self.waited += waited
        self.longest_wait = max(self.longest_wait, waited)
        for index, bound in enumerate(HOLD_BOUNDS):
            if seconds <= bound:
                break
            self.longer_than[index] += 1

    def reset(self) -> None:
        """Start counting afresh."""
        self.count, self.total, self.longest, self.longest_cpu = 0, 0.0, 0.0, 0.0
        self.waited, self.longest_wait = 0.0, 0.0
        self.longer_than = [0] * len(HOLD_BOUNDS)


# Seconds a hold of the write lock is counted against: the bound the design keeps (0.1) and
# its neighbours.
HOLD_BOUNDS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Database:
    """One DuckDB database per process: thread-local cursors, serialised writes, explicit close."""

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        threads: int | None = None,
        space: DiskSpace | None = None,
    ) -> None:
        self.path = Path(path)
        # Free space beside the file; writes are refused below its reserve (none by default).
        self.space = space or DiskSpace(self.path.parent)
        # Called once, with the reason, when DuckDB reports a fatal error: the instance is
        # then useless, and only a new process can open the file again (see invalidated()).
        self.on_fatal: Callable[[str], None] | None = None
        self._fatal: str | None = None
        # Read-only lets several processes open one file (DuckDB allows one read-write process).
        self.read_only = read_only
        # DuckDB's own worker threads per query; None leaves DuckDB's default (one per core).
        self.threads = threads
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._local = threading.local()
        self._cursors: list[Cursor] = []
        self._cursors_lock = threading.Lock()
        # DuckDB's optimistic concurrency reports concurrent updates to one row as a
        # conflict; one writer at a time means an acknowledged write is never lost.
        self._write_lock = threading.Lock()
        # Every write holds the one lock; how long it does bounds every other writer's wait.
        self.lock_holds = LockHolds()
        # Commits in all and per scope, counted after COMMIT under the write lock: this
        # process is the database's only writer, so an answer whose scopes did not move is
        # still exact (composite/db/scopes.py).
        self.scopes = Scopes()
        # Read results kept until a write to what they read (composite/db/memo.py).
        self.memo = ExactMemo(self.scopes, writing=self.writing)
        self._groups: dict[Callable[..., Any], GroupCommit[Any, Any]] = {}
        self._scope_memos: dict[str, ExactMemo] = {}
        self._closed = False

    # lifecycle -----------------------------------------------------------------

    def open(self) -> Database:
        """Open the database file, creating its directory; raise DatabaseError on failure."""
        if self._closed:
            raise DatabaseClosedError("database is closed; create a new Database to reopen it")
        if self._connection is not None:
            return self
        if str(self.path) != ":memory:" and not self.read_only:
            self.check_writable()
            set_aside_unreadable_wal(self.path)
        try:
            config = _OPEN_CONFIG | ({} if self.threads is None else {"threads": self.threads})
            self._connection = duckdb.connect(str(self.path), read_only=self.read_only, config=config)
        except duckdb.IOException as exc:
            match = _LOCK_HOLDER.search(str(exc))
            if match:
                raise DatabaseLockedError(self.path, int(match["pid"]), match["program"]) from None
            if "Could not set lock" in str(exc):
                raise DatabaseLockedError(self.path, None, None) from None
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from None
        except duckdb.Error as exc:
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from None
        return self

    def check_writable(self) -> None:
        """Raise DatabaseError, naming the directory and the database, unless its directory can be written."""
        _check_directory_writable(self.path.parent, self.path)

    def close(self) -> None:
        """Checkpoint and close every cursor and the connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        connection, self._connection = self._connection, None
        if connection is None:
            return
        # Wait for a write in progress, then let no new one start.
        with self._write_lock:
            try:
                if not self.read_only:
                    connection.execute("CHECKPOINT")
            except duckdb.Error as exc:  # the data is safe in the WAL either way
                log.warning("checkpoint at close failed: %s", exc)
            with self._cursors_lock:
                cursors, self._cursors = self._cursors, []
            # DuckDB keeps the file locked while any cursor is open, so close them all.
            for cursor in cursors:
                with suppress(duckdb.Error):
                    cursor.close()
            connection.close()

    @property
    def generation(self) -> int:
        """How many write transactions have committed since the database was opened."""
        return self.scopes.generation

    def reading(self, *scopes: str) -> AbstractContextManager[Callable[[Iterable[str]], None]]:
        """A block whose queries read only these scopes, recorded for the answer being made."""
        return self.scopes.reading(scopes)

    # access --------------------------------------------------------------------

    def cursor(self) -> Cursor:
        """This thread's cursor onto the shared database (created on first use)."""
        connection = self._connection
        if connection is None or self._closed:
            raise DatabaseClosedError("database is closed" if self._closed else "database is not open")
        note_query()
        cursor: Cursor | None = getattr(self._local, "cursor", None)
        if cursor is None or getattr(self._local, "owner", None) is not connection:
            cursor = connection.cursor()
            with self._cursors_lock:
                self._cursors.append(cursor)
            self._local.cursor = cursor
            self._local.owner = connection
        return cursor

    def fetchall(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one read query on this thread's cursor and return every row."""
        return self.cursor().execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Any = None) -> tuple[Any, ...] | None:
        """Run one read query on this thread's cursor and return the first row."""
        return first(self.cursor().execute(sql, params))

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One write transaction: serialised with other writers, committed or rolled back."""
        cursor = self.cursor()
        if self._fatal is not None:
            raise DatabaseInvalidatedError(self._fatal)
        if self.space.refuses_writes():
            raise DiskFullError(self._no_space())
        asked = time.perf_counter()
        with self._write_lock:
            acquired, acquired_cpu = time.perf_counter(), time.thread_time()
            try:
                if self._closed:
                    raise DatabaseClosedError("database is closed")
                try:
                    cursor.execute("BEGIN TRANSACTION")
                    touched = _TOUCHED[id(cursor)] = set()
                    self._local.writing = True
                    try:
                        yield cursor
                    except BaseException:
                        # A failed COMMIT inside the body has already ended the transaction.
                        with suppress(duckdb.TransactionException):
                            cursor.execute("ROLLBACK")
                        raise
                    # A COMMIT that fails (the WAL cannot be written) leaves nothing of the
                    # transaction behind: DuckDB has rolled it back.
                    cursor.execute("COMMIT")
                except duckdb.Error as exc:
                    self._translate(exc)
                    raise
                self.scopes.committed(touched)
            finally:
                self._local.writing = False
                _TOUCHED.pop(id(cursor), None)
                self.lock_holds.record(
                    time.perf_counter() - acquired, time.thread_time() - acquired_cpu, acquired - asked
                )

    def _translate(self, exc: duckdb.Error) -> None:
        """Raise what a failed write means to the operator, when it means more than the query failed."""
        if self.invalidated(exc):
            raise DatabaseInvalidatedError(self._fatal or str(exc)) from None
        if is_no_space(exc):
            self.space.forget()  # the next write reads the free space afresh
            raise DiskFullError(self._no_space()) from None

    def _no_space(self) -> str:
        free = self.space.free_bytes()
        shown = "" if free is None else f" ({free // 1024:,} KiB free)"
        return f"not enough disk space beside the database{shown}; nothing was written"

    def invalidated(self, exc: BaseException) -> bool:
        """Whether ``exc`` is DuckDB's fatal error; the first one is logged and calls on_fatal."""
        if not (isinstance(exc, duckdb.FatalException) or is_invalidated(str(exc))):
            return False
        with self._cursors_lock:
            first_time, self._fatal = self._fatal is None, self._fatal or str(exc).splitlines()[0]
        if first_time:
            reason = f"database {self.path} is invalidated by a fatal error ({self._fatal})"
            log.critical("%s; the process must restart to open it again", reason)
            if self.on_fatal is not None:
                self.on_fatal(reason)
        return True

    def checkpoint(self) -> None:
        """Write the WAL into the database file (DiskFullError, DatabaseInvalidatedError as for a write)."""
        try:
            self.cursor().execute("CHECKPOINT")
        except duckdb.Error as exc:
            self._translate(exc)
            raise

    def writing(self) -> bool:
        """Whether this thread has a write transaction open (its reads see its own writes)."""
        return getattr(self._local, "writing", False)

    def write(self, work: Callable[[Cursor], T]) -> T:
        """Run work(cursor) in one write transaction and return its result."""
        with self.transaction() as cursor:
            return work(cursor)

    def scope_memo(self, scope: str, max_bytes: int = 1024 * 1024) -> ExactMemo:
        """Results that read ``scope`` alone, kept until a commit that touched it (see touch())."""
        with self._cursors_lock:
            memo = self._scope_memos.get(scope)
            if memo is None:
                memo = self._scope_memos[scope] = ExactMemo(self.scopes, max_bytes, scope, self.writing)
            return memo

    def group_commit(
        self, apply: Callable[[Cursor, Any], Any], *, max_weight: int | None = None
    ) -> GroupCommit[Any, Any]:
        """The batcher that writes items with ``apply`` many per transaction (composite/db/groupcommit.py)."""
        with self._cursors_lock:
            group = self._groups.get(apply)
            if group is None:
                group = self._groups[apply] = GroupCommit(self, apply, max_weight=max_weight)
            return group

    # schema --------------------------------------------------------------------

    def migrate(self, directory: Path, release: str | None = None) -> list[str]:
        """Apply the numbered .sql files not yet recorded, in order, under ``release``; return their names.

        A database that records a migration ``directory`` has no file for raises SchemaError
        (composite/db/schema.py) before anything is applied.
        """
        with self.transaction() as cursor:
            applied = schema.apply(cursor, directory, release)
        for name in applied:
            log.info("applied migration %s", name)
        return applied


def touch(cur: Cursor, *scopes: str) -> None:
    """Mark that the write transaction open on ``cur`` changes what readers of these scopes see.

    Kept values and answers that read ``scope`` are dropped at such a commit and only then
    (composite/db/scopes.py), so a read that is hot under a stream of unrelated writes
    stays cached; every statement that changes a scope's rows must be followed by this
    call. A transaction that touches no scope moves every one (``EVERYTHING``).
    """
    try:
        _TOUCHED[id(cur)].update(scopes)
    except KeyError:
        raise RuntimeError("touch() is only meaningful inside Database.transaction") from None


def unchanged(cur: Cursor) -> None:
    """Mark that the write transaction open on ``cur`` changed nothing any reader sees.

    For a write that turned out to be a no-op (a star already there, an edit to the same
    text): without a touch, its commit would move every scope and empty every cache.
    """
    touch(cur, NOTHING)


def row_maker(cls: type[T], description: Any) -> Callable[[tuple[Any, ...]], T]:
    """A function turning a row of a query into ``cls``, each field taken from the column of its name.

    Rows become objects by column name, never by position: adding or reordering a column
    in a query cannot shift values into the wrong fields, and extra columns are left out.
    """
    names = [column[0] for column in description]
    try:
        index = [names.index(field.name) for field in dataclasses.fields(cls)]  # type: ignore[arg-type]
    except ValueError as exc:
        raise DatabaseError(f"the query has no column for a field of {cls.__name__}: {exc}") from None
    return lambda row: cls(*(row[i] for i in index))


def first(result: Cursor) -> tuple[Any, ...] | None:
    """The first row of an executed query, or None; the result is read to its end and closed.

    A result left open keeps its transaction open until the cursor's next query, and a
    thread's cursor can sit idle for hours. DuckDB then keeps every version that later
    commits replace (measured: 250 MiB of undo after 1,000 updates of 200-byte rows, for
    one idle ``fetchone()``), and a result of a statement that wrote, such as
    ``nextval()``, makes every CHECKPOINT fail. So reads here never use ``fetchone()``;
    the queries this serves return one row.
    """
    rows = result.fetchall()
    return rows[0] if rows else None


def row_as(cls: type[T], result: Cursor) -> T | None:
    """The first row of an executed query as ``cls`` (by column name), or None (see first())."""
    row = first(result)
    return None if row is None else row_maker(cls, result.description)(row)


def rows_as(cls: type[T], result: Cursor) -> list[T]:
    """Every row of an executed query as ``cls`` (by column name)."""
    make = row_maker(cls, result.description)
    return [make(row) for row in result.fetchall()]


def _check_directory_writable(directory: Path, database: Path) -> None:
    """Create the data directory and prove a file can be written there."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-check-"):
            pass
    except OSError as exc:
        reason = "it is read-only" if exc.errno == errno.EROFS else exc.strerror or str(exc)
        raise DatabaseError(
            f"data directory {directory} is not writable ({reason}): cannot open the database {database}"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DatabaseError(
            f"data directory {directory} is not writable: cannot open the database {database}"
        )


# The database ``composite serve --database PATH`` opens for every mount to share ------------

_shared: Database | None = None


def open_shared(path: Path, option: str = "--database") -> Database:
    """Open (and remember) the database every mount of ``composite serve`` shares.

    ``option`` names where the path came from, for the message when another process holds it.
    """
    global _shared  # noqa: PLW0603 - one per process by design: the whole point of the server
    if _shared is None:
        try:
            _shared = Database(path).open()
        except DatabaseLockedError as exc:
            raise DatabaseLockedError(exc.path, exc.pid, exc.program, option) from None
    return _shared


def shared_database() -> Database:
    """The database opened by ``composite serve --database PATH``, for any mounted application."""
    if _shared is None:
        raise DatabaseError("no shared database: start the server with composite serve --database PATH")
    return _shared


def close_shared() -> None:
    """Checkpoint and close the shared database (the server does this at shutdown)."""
    global _shared
    database, _shared = _shared, None
    if database is not None:
        database.close()
