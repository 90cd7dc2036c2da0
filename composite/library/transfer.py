"""Export a user's prompts as JSON and import such a file, or a CSV one, merging rather than duplicating.

An import is read and checked whole before anything is written: a file that is not an
export or a usable CSV, or holds too many prompts, stores nothing. A bad item in a good
file is refused on its own, with the reason and its place, and the others are stored. It
is then written in short transactions, each holding the write lock for a few tens of
milliseconds, so that other users' writes (a login, a star) wait for one batch at most
rather than for the whole import. The answer says what happened to each prompt; if the
import stops part way (the server shutting down), the error says how many were stored, and
importing the same file again finishes the work without duplicating anything.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from typing import IO, Any, Literal
from uuid import UUID

from composite.db import Cursor, Database, row_maker
from composite.library.accounts import User
from composite.library.errors import DomainError, Invalid
from composite.library.import_files import (
    ITEM_MAX_WEIGHT,
    Oversize,
    RawItem,
    document_items,
    read_csv,
    read_json,
)
from composite.library.import_progress import Progress, Tracker
from composite.library.prompts import (
    INDEXED,
    PROMPT_COLUMNS,
    NewPrompt,
    Prompt,
    apply_edits,
    clean_fields,
    insert_prompts,
    weigh,
)
from composite.library.ratelimit import RateLimiter
from composite.library.restore import Past, content_fields, read_past, restore
from composite.library.rules import VISIBILITIES

log = logging.getLogger("composite.library.transfer")

# Items per import: what 64 MiB holds of ordinary prompts (10,000 of them make 28 MB), so
# that any export that fits the file limit goes back in. The bound keeps what an import
# holds at once (each item's cleaned fields and its line in the report) near the file's size.
MAX_IMPORT = 50_000
# Tags an import may add that none of the user's prompts carry yet: without a bound, one
# import of 1,000 prompts could add 10,000 tags to every visitor's tag list. The items past
# it are refused, each on its own; the rest are stored.
IMPORT_NEW_TAGS_MAX = 100
# Imports per user: each is up to 64 MiB to check and tens of thousands of prompts to write.
IMPORT_RATE = "20/hour"
# Each batch aims to hold the write lock this long: its size follows the CPU time the last
# one took (about 25 prompts of 1 KB on a quiet machine). CPU time, because on a busy
# machine wall time stretches whatever the size, and smaller batches would only add the
# fixed cost of a transaction more often; below BATCH_MIN that cost dominates anyway.
BATCH_SECONDS = 0.04
BATCH_MIN, BATCH_MAX = 2, 50
# And at most this much text, whatever the last batch took: the work (search terms above
# all) follows the text, and fifty of the largest bodies would be 2.5 million characters,
# ten times a batch's aim. 256 Ki characters take about 50 ms of CPU here.
BATCH_TEXT = 256 * 1024


class ImportInterrupted(DomainError):
    """The import stopped part way; what was stored stays, and importing again finishes it."""

    status = 503


@dataclass(frozen=True)
class ImportedItem:
    """What became of one prompt of the file: its place in the file, the stored prompt, the outcome.

    A refused item has no stored prompt; ``reason`` says why it was refused.
    """

    index: int  # among the file's items, from 0
    id: int | None
    uid: UUID | None
    outcome: str  # created, updated, unchanged or refused
    row: int | None = None  # a CSV file's row number (the header is row 1)
    reason: str | None = None
    title: str | None = None  # a refused item's title as given (shortened), to name it


@dataclass(frozen=True)
class ImportResult:
    """How an import went, prompt by prompt, in the file's order."""

    items: tuple[ImportedItem, ...]
    ignored_columns: tuple[str, ...] = ()  # a CSV header's columns that no field reads

    def count(self, outcome: str) -> int:
        """How many prompts had this outcome."""
        return sum(item.outcome == outcome for item in self.items)

    @property
    def created(self) -> int:
        """Prompts new to the user."""
        return self.count("created")

    @property
    def updated(self) -> int:
        """Prompts that changed: each got a new version."""
        return self.count("updated")

    @property
    def unchanged(self) -> int:
        """Prompts already up to date."""
        return self.count("unchanged")

    @property
    def refused(self) -> int:
        """Items not stored, each with its reason."""
        return self.count("refused")


def _check_item(raw: RawItem) -> _Checked:
    """One item's uid, cleaned fields and past; Invalid says what is wrong with it."""
    item = raw.item
    if isinstance(item, Oversize):
        limit = ITEM_MAX_WEIGHT // 2**20
        raise Invalid({"item": f"holds more than {limit} MiB, history included; a prompt is far smaller"})
    if not isinstance(item, dict):
        raise Invalid({"item": "must be an object"})
    try:
        uid = UUID(item["uid"]) if item.get("uid") else None
    except (TypeError, ValueError, AttributeError):
        raise Invalid({"uid": "must be a UUID"}) from None
    fields = clean_fields({"title": "", "body": "", **content_fields(item)})
    return _Checked(raw, uid, fields, read_past(item))


@dataclass(frozen=True)
class _Checked:
    """An item that passed its checks: to be stored."""

    raw: RawItem
    uid: UUID | None
    fields: dict[str, Any]
    past: Past | None


def _read(items: Iterable[RawItem]) -> tuple[list[_Checked], list[ImportedItem]]:
    """Every item checked: those to store, and those refused with their reason."""
    good: list[_Checked] = []
    refused: list[ImportedItem] = []
    for raw in items:
        if raw.index >= MAX_IMPORT:
            raise Invalid({"prompts": f"at most {MAX_IMPORT} prompts per import"})
        try:
            good.append(_check_item(raw))
        except Invalid as exc:
            reason = "; ".join(_said(field, problem) for field, problem in exc.errors.items())
            refused.append(ImportedItem(raw.index, None, None, "refused", raw.row, reason, _title_of(raw)))
    return good, refused


def _said(field: str, problem: str) -> str:
    """One field's refusal as the report shows it: "the body has 144,260 characters; at most 50,000"."""
    return f"the {field.replace('_', ' ')} {problem}" if problem.startswith("has ") else f"{field}: {problem}"


def _title_of(raw: RawItem) -> str | None:
    """The title a refused item gives, shortened, to name it in the report; None if it has none."""
    item = raw.item
    title = item.get("title") if isinstance(item, dict) else None
    if not isinstance(title, str) or not title.strip():
        return None
    title = " ".join(title.split())
    return title if len(title) <= 80 else title[:79] + "…"


def _within_new_tags(
    db: Database, user: User, good: list[_Checked]
) -> tuple[list[_Checked], list[ImportedItem]]:
    """The items that keep the import within IMPORT_NEW_TAGS_MAX tags new to the user, in file order.

    An item that would bring more is refused alone, with the reason; the others are stored.
    """
    wanted = {tag for checked in good for tag in checked.fields.get("tags", [])}
    if len(wanted) <= IMPORT_NEW_TAGS_MAX:
        return good, []
    rows = db.fetchall("SELECT DISTINCT unnest(tags) FROM prompts WHERE owner_id = ?", [user.id])
    carried = {row[0] for row in rows}
    added: set[str] = set()
    kept, refused = [], []
    for checked in good:
        raw = checked.raw
        new = set(checked.fields.get("tags", [])) - carried - added
        if len(added) + len(new) > IMPORT_NEW_TAGS_MAX:
            reason = (
                f"tags: an import may add at most {IMPORT_NEW_TAGS_MAX} tags that your prompts do not"
                f" carry yet, and the items before this one added {len(added)}"
            )
            refused.append(ImportedItem(raw.index, None, None, "refused", raw.row, reason, _title_of(raw)))
            continue
        added |= new
        kept.append(checked)
    return kept, refused


_NO_UID = UUID(int=0)


@dataclass
class _Imports:
    """What the imports into one database share: each user's budget, and the turn to write."""

    limiter: RateLimiter
    # Imports take turns batch by batch, so at most one of them waits for the write lock:
    # a login waits for one batch, not for one batch of every import under way.
    turn: threading.Lock
    progress: Tracker


_imports: weakref.WeakKeyDictionary[Database, _Imports] = weakref.WeakKeyDictionary()
_imports_lock = threading.Lock()


def _shared(db: Database) -> _Imports:
    with _imports_lock:
        shared = _imports.get(db)
        if shared is None:
            shared = _imports[db] = _Imports(RateLimiter(), threading.Lock(), Tracker())
        return shared


def import_limiter(db: Database) -> RateLimiter:
    """The import budgets of every user of this database, shared by both applications."""
    return _shared(db).limiter


def import_progress(db: Database, user: User, key: str) -> Progress | None:
    """How far the user's import sent with this progress key has got (None if unknown)."""
    return _shared(db).progress.get(user.id, key)


def check_import_budget(db: Database, user: User) -> None:
    """TooManyAttempts (429) when the user's imports for the hour are spent."""
    import_limiter(db).check(IMPORT_RATE, "import", str(user.id), "too many imports; try again later")


def _charged(db: Database, user: User, result: ImportResult) -> ImportResult:
    """Count the import against the user's budget if it stored anything: fixing a refused file is free."""
    if result.created or result.count("updated"):
        import_limiter(db).record(IMPORT_RATE, "import", str(user.id))
    return result


@dataclass(frozen=True)
class _Entry:
    index: int
    row: int | None
    uid: UUID | None
    fields: dict[str, Any]
    past: Past | None = None  # its history, labels and dates, restored if it creates a prompt
    weighed: NewPrompt | None = None  # its search terms, computed before the write lock is taken


def import_prompts(db: Database, user: User, document: Any, visibility: str | None = None) -> ImportResult:
    """Merge a parsed export document into the user's prompts: same uid updates, same content is skipped.

    ``visibility`` is what a new prompt gets when its item gives none (else private).
    """
    check_import_budget(db, user)
    return _charged(db, user, _import(db, user, document_items(document), visibility))


def import_file(
    db: Database,
    user: User,
    stream: IO[bytes],
    kind: Literal["json", "csv"],
    visibility: str | None = None,
    progress_key: str | None = None,
) -> ImportResult:
    """Merge an export file or a CSV file, read as it streams, into the user's prompts (as import_prompts).

    With a ``progress_key`` (8-64 letters, digits or '-'), ``import_progress`` tells how far it has got.
    """
    check_import_budget(db, user)
    progress = _shared(db).progress.start(user.id, progress_key)
    ignored: list[str] = []
    with closing(read_csv(stream, ignored) if kind == "csv" else read_json(stream)) as items:
        # Closed here, while the stream is open: a reader left to the collector would
        # detach from a file already closed, and print a traceback.
        result = _import(db, user, items, visibility, progress)
    return _charged(db, user, replace(result, ignored_columns=tuple(ignored)))


def _counted(items: Iterable[RawItem], progress: Progress) -> Iterator[RawItem]:
    """The items, counted into ``progress`` as they are read."""
    for item in items:
        progress.done = item.index + 1
        yield item


def _import(
    db: Database,
    user: User,
    items: Iterable[RawItem],
    visibility: str | None,
    progress: Progress | None = None,
) -> ImportResult:
    if visibility is not None and visibility not in VISIBILITIES:
        raise Invalid({"visibility": "must be 'public' or 'private'"})
    progress = progress or Progress()
    good, refused = _read(_counted(items, progress))
    good, past_tags = _within_new_tags(db, user, good)
    refused += past_tags
    entries = [_Entry(c.raw.index, c.raw.row, c.uid, c.fields, c.past) for c in good]
    pending, repeats = _without_repeats(entries)
    contents = _Contents(db, user)
    done: list[ImportedItem] = []
    size = BATCH_MIN * 2
    # Refused items and repeats are done already: only the rest is stored batch by batch.
    progress.total, progress.done = len(good) + len(refused), len(refused) + len(repeats)
    progress.stage = "storing"
    try:
        while pending:
            batch, pending = _next_batch(pending, size)
            # Weighed batch by batch, still outside the lock: the search terms of a whole
            # 64 MiB file at once would cost several times its size in memory.
            batch = [replace(e, weighed=weigh(e.uid or _NO_UID, e.fields)) for e in batch]
            with _shared(db).turn:
                started = time.thread_time()
                stored = db.write(
                    lambda cur, batch=batch: _write_batch(cur, user, batch, visibility, contents)
                )
                took = time.thread_time() - started
            done += stored
            progress.done += len(stored)
            fits = int(len(stored) * BATCH_SECONDS / max(took, 1e-3))
            size = max(BATCH_MIN, min(BATCH_MAX, size * 2, fits))
            # Let a writer waiting for the lock take it before the next batch does.
            time.sleep(0.001)
    except Exception:
        if not done:
            raise
        log.exception("import for user %s stopped after %d of %d prompts", user.id, len(done), len(good))
        raise ImportInterrupted(
            f"the import stopped after storing {len(done)} of {len(good)} prompts;"
            " import the same file again to finish (what is stored is matched, not duplicated)"
        ) from None
    stored = {item.index: item for item in done}
    done += [
        ImportedItem(entry.index, stored[first.index].id, stored[first.index].uid, "unchanged", entry.row,
                     f"a repeat of {_place(first)}")
        for entry, first in repeats
    ]  # fmt: skip
    progress.stage = "done"
    return ImportResult(tuple(sorted(done + refused, key=lambda item: item.index)))


def _without_repeats(entries: list[_Entry]) -> tuple[list[_Entry], list[tuple[_Entry, _Entry]]]:
    """The entries to write, and each that repeats an earlier one exactly (uid, if any, and fields).

    A repeat would find the prompt its first made and be reported "unchanged" beside it; the
    report says which row it repeats instead.
    """
    first: dict[Any, _Entry] = {}
    kept: list[_Entry] = []
    repeats: list[tuple[_Entry, _Entry]] = []
    for entry in entries:
        key = (entry.uid, tuple(sorted((k, str(v)) for k, v in entry.fields.items())))
        if key in first:
            repeats.append((entry, first[key]))
        else:
            first[key] = entry
            kept.append(entry)
    return kept, repeats


def _place(entry: _Entry) -> str:
    """Where an entry is in its file, as the report names it: 'row 12' (CSV) or 'prompt 3' (JSON)."""
    return f"row {entry.row}" if entry.row is not None else f"prompt {entry.index + 1}"


def _text_of(entry: _Entry) -> int:
    """The characters of an entry's text: what its share of a batch's work follows."""
    return sum(len(value) for value in entry.fields.values() if isinstance(value, str))


def _next_batch(pending: list[_Entry], size: int) -> tuple[list[_Entry], list[_Entry]]:
    """Up to ``size`` entries and BATCH_TEXT characters (at least one entry), stopping before
    one that shares a uid or content with another.

    Entries are matched against what is stored when their batch starts, so two entries
    for one prompt must go in different batches for the second to find the first.
    """
    keys: set[Any] = set()
    taken = 0
    for count, entry in enumerate(pending):
        mine = {("content", entry.fields["title"], entry.fields["body"])}
        if entry.uid is not None:
            mine.add(("uid", entry.uid))
        taken += _text_of(entry)
        if count == size or keys & mine or (count and taken > BATCH_TEXT):
            return pending[:count], pending[count:]
        keys |= mine
    return pending, []


def _write_batch(
    cur: Cursor, user: User, batch: list[_Entry], visibility: str | None, contents: _Contents
) -> list[ImportedItem]:
    """Write one batch inside its transaction, a few statements for all of it; return what was stored."""
    matches = _match(cur, user, batch, contents)
    new: list[tuple[_Entry, NewPrompt]] = []
    edits: list[tuple[_Entry, Prompt]] = []
    for entry in batch:
        existing, uid = matches[entry.index]
        assert entry.weighed is not None  # weighed when its batch was formed
        if existing is None:
            fields = entry.weighed.fields
            if visibility is not None and "visibility" not in entry.fields:
                fields = {**fields, "visibility": visibility}  # the import's choice, for new prompts only
            new.append((entry, replace(entry.weighed, uid=uid or uuid.uuid4(), fields=fields)))
        else:
            edits.append((entry, existing))
    ids = insert_prompts(cur, user, [prompt for _, prompt in new])
    restore(cur, user, [(ids[prompt.uid], prompt.fields, e.past) for e, prompt in new if e.past is not None])
    for _, prompt in new:
        contents.add(prompt.fields["title"], prompt.fields["body"], ids[prompt.uid])
    stored = [
        ImportedItem(entry.index, ids[prompt.uid], prompt.uid, "created", entry.row) for entry, prompt in new
    ]
    # Search terms weighed beforehand hold for an edit only if the file gives every indexed field.
    changed = apply_edits(
        cur,
        [(p, e.fields, e.weighed if e.fields.keys() >= INDEXED else None) for e, p in edits],
    )
    stored += [
        ImportedItem(entry.index, prompt.id, prompt.uid, "unchanged" if did is None else "updated", entry.row)
        for (entry, prompt), did in zip(edits, changed, strict=True)
    ]
    return stored


def _content_key(title: str, body: str) -> str:
    """A prompt's content as its digest: the same as ``_CONTENT_DIGEST`` computes in the database."""
    return hashlib.md5(f"{title}\x00{body}".encode(), usedforsecurity=False).hexdigest()


# Title and body never hold NUL (rules.py refuses it), so the separator keeps them apart.
_CONTENT_DIGEST = "md5(p.title || chr(0) || p.body)"


class _Contents:
    """The user's prompts by content digest, read once per import: the oldest id for each.

    Matching each batch by content in SQL joined the user's whole table (title and body,
    megabytes) once per batch, so a large import cost the square of its size. This map is
    one narrow scan at the start; the batch then reads only its candidates, by primary key,
    and compares their text, so a digest never decides alone. Prompts the import creates
    join the map as they are stored. One the user creates on the site while the import runs
    is not in it: an item with the same content then makes a second prompt, nothing is lost.
    """

    def __init__(self, db: Database, user: User) -> None:
        rows = db.fetchall(
            f"SELECT {_CONTENT_DIGEST}, min(p.id) FROM prompts p WHERE p.owner_id = ? GROUP BY 1", [user.id]
        )
        self._ids: dict[str, int] = {digest: int(prompt_id) for digest, prompt_id in rows}

    def candidates(self, entries: Iterable[_Entry]) -> dict[int, int]:
        """The stored prompt id each entry may match, by entry index."""
        found = {}
        for entry in entries:
            prompt_id = self._ids.get(_content_key(entry.fields["title"], entry.fields["body"]))
            if prompt_id is not None:
                found[entry.index] = prompt_id
        return found

    def add(self, title: str, body: str, prompt_id: int) -> None:
        """A prompt stored by this import: later items with its content match it."""
        self._ids.setdefault(_content_key(title, body), prompt_id)


def _match(
    cur: Cursor, user: User, batch: list[_Entry], contents: _Contents
) -> dict[int, tuple[Prompt | None, UUID | None]]:
    """For each entry, the user's prompt it updates (by uid, else by content) and the uid a new one gets."""
    found: dict[int, tuple[Prompt | None, UUID | None]] = {}
    uids = [str(entry.uid) for entry in batch if entry.uid is not None]
    owners: dict[UUID, tuple[int, Prompt]] = {}
    if uids:
        result = cur.execute(
            f"SELECT {PROMPT_COLUMNS}, p.owner_id FROM prompts p JOIN users u ON u.id = p.owner_id"
            " WHERE p.uid IN (SELECT unnest(?::UUID[])) ORDER BY p.owner_id = ?",
            [uids, user.id],
        )
        as_prompt = row_maker(Prompt, result.description)
        # Ordered so that the user's own prompt wins should a uid ever be stored twice.
        owners = {(prompt := as_prompt(row)).uid: (row[-1], prompt) for row in result.fetchall()}
    unmatched = []
    for entry in batch:
        owner_id, prompt = owners.get(entry.uid, (None, None)) if entry.uid else (None, None)
        if owner_id == user.id:
            found[entry.index] = (prompt, entry.uid)
        else:
            # Another user's uid: a copy under a new uid. An unknown uid is kept.
            found[entry.index] = (None, None if owner_id is not None else entry.uid)
            unmatched.append(entry)
    candidates = contents.candidates(unmatched)
    if candidates:
        result = cur.execute(
            f"SELECT {PROMPT_COLUMNS} FROM prompts p JOIN users u ON u.id = p.owner_id"
            " WHERE p.id IN (SELECT unnest(?::BIGINT[])) AND p.owner_id = ?",
            [sorted(set(candidates.values())), user.id],
        )
        as_prompt = row_maker(Prompt, result.description)
        stored = {prompt.id: prompt for prompt in map(as_prompt, result.fetchall())}
        for entry in unmatched:
            prompt = stored.get(candidates.get(entry.index, -1))
            # Compared as text: the prompt may have changed since the map was read.
            if prompt is not None and (prompt.title, prompt.body) == (
                entry.fields["title"],
                entry.fields["body"],
            ):
                found[entry.index] = (prompt, None)
    return found
