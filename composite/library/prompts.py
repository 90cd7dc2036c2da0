"""Prompts: create, read, edit (every edit a new version), delete."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from composite.db import Cursor, Database, first, touch, unchanged
from composite.db.groupcommit import Then
from composite.library import scopes
from composite.library.accounts import User, usernames
from composite.library.errors import DomainError, Forbidden, NotFound
from composite.library.rules import check_prompt_fields, check_tags
from composite.library.scopes import BY_STARS, LISTED
from composite.library.search import (
    Postings,
    index_new_prompts,
    index_prompt,
    prompt_postings,
    reindex_prompts,
    unindex_prompts,
    visibilities_changed,
    visibility_changed,
)


@dataclass(frozen=True)
class PromptContent:
    """What a prompt says: the fields an owner edits and every version keeps.

    The one list of them: ``CONTENT_FIELDS``, the SQL column lists, the API schemas, the
    export format and the forms are all derived from it. Immutable, tags included: a
    cached read hands the same prompt to every caller (composite/db/memo.py).
    """

    title: str
    description: str
    body: str
    model_hint: str
    tags: tuple[str, ...]
    visibility: str

    def __post_init__(self) -> None:
        # The database gives a list; a tuple no caller can change under another.
        if not isinstance(self.tags, tuple):
            object.__setattr__(self, "tags", tuple(self.tags))


CONTENT_FIELDS = tuple(field.name for field in fields(PromptContent))
INDEXED = frozenset({"title", "description", "body", "tags"})  # the fields search reads
_SQL_TYPES = {"tags": "VARCHAR[]"}  # the content columns that are not VARCHAR
# What a new prompt gets for the content it was not given (title and body are required).
# Private until the owner says otherwise: publishing is a choice, never an accident.
CONTENT_DEFAULTS: dict[str, Any] = {"description": "", "model_hint": "", "tags": (), "visibility": "private"}


@dataclass(frozen=True)
class _PromptKey:
    id: int
    uid: UUID
    owner: str


# Bases in this order put the key first, then the content, then the rest: the order of
# PROMPT_COLUMNS (a dataclass takes fields from its bases in reverse method resolution order).
@dataclass(frozen=True)
class Prompt(PromptContent, _PromptKey):
    """A prompt at its latest version."""

    version: int
    stars: int
    forks: int  # its public forks: the copies anyone may see (composite.library.forks)
    # The prompt this one was forked from, unchecked: it may since have been made private.
    # Show it only through composite.library.forks.visible_sources, which asks the viewer.
    source_id: int | None
    created_at: datetime
    updated_at: datetime

    @property
    def public(self) -> bool:
        """True when anyone may see the prompt."""
        return self.visibility == "public"


# Columns of a Prompt, in its field order, for queries over prompts p joined to users u.
PROMPT_COLUMNS = ", ".join(
    [
        "p.id",
        "p.uid",
        "u.username AS owner",
        *(f"p.{name}" for name in CONTENT_FIELDS),
        "p.version",
        "p.stars",
        "p.forks",
        "p.source_id",
        "p.created_at",
        "p.updated_at",
    ]
)
# The same columns with the owner's id where PROMPT_COLUMNS has the name, for reads by id
# that look the name up apart: a join would build a hash table of every user per read.
ROW_COLUMNS = PROMPT_COLUMNS.replace("u.username AS owner", "p.owner_id")
# Which rows a viewer may see: public ones and their own. Parameter: the viewer's id.
VISIBLE_TO = "(p.visibility = 'public' OR p.owner_id = ?)"


def may_see(visibility: str, owner_id: int, viewer_id: int | None) -> bool:
    """VISIBLE_TO for one row already read.

    A read of one prompt by id filters on the id alone and asks this: with the visibility
    test in the WHERE clause too, DuckDB scans the table instead of probing the id (1 ms
    against 6 ms at 1M prompts).
    """
    return visibility == "public" or owner_id == viewer_id


def missing(prompt_id: int) -> NotFound:
    """The refusal for a prompt the viewer may not see: someone else's private prompt is a missing one."""
    return NotFound(f"no prompt {prompt_id}")


def load_visible(cur: Cursor, prompt_id: int, viewer_id: int | None) -> Prompt:
    """The prompt if the viewer may see it, read on ``cur`` (inside a write when one is open)."""
    row = first(cur.execute(f"SELECT {ROW_COLUMNS} FROM prompts p WHERE p.id = ?", [prompt_id]))
    if row is None or not may_see(row[_VISIBILITY], row[2], viewer_id):
        raise missing(prompt_id)
    return with_owner_name(row, usernames(cur, [row[2]]))


_VISIBILITY = ROW_COLUMNS.split(", ").index("p.visibility")


def with_owner_name(row: tuple[Any, ...], names: dict[int, str]) -> Prompt:
    """A Prompt from a row of ROW_COLUMNS, its owner's id replaced by the name."""
    return Prompt(*row[:2], names.get(row[2], ""), *row[3:])


def _owner_id(cur: Cursor, prompt_id: int) -> int | None:
    row = first(cur.execute("SELECT owner_id FROM prompts WHERE id = ?", [prompt_id]))
    return row[0] if row else None


def load_for_owner(cur: Cursor, prompt_id: int, user: User) -> Prompt:
    """The prompt if the user owns it: NotFound if they cannot see it, Forbidden if not theirs."""
    prompt = load_visible(cur, prompt_id, user.id)
    if _owner_id(cur, prompt_id) != user.id:
        raise Forbidden("only the owner of a prompt may change it")
    return prompt


@dataclass(frozen=True)
class KeptRow:
    """A prompt's row as every viewer's read starts from it, kept until a write to the prompt."""

    prompt: Prompt
    owner_id: int
    row_hash: int  # of the whole row, every column: it changes whenever anything shown of it does


def kept_row(db: Database, prompt_id: int) -> KeptRow | None:
    """The prompt's row whoever asks (None if there is none): the viewer's check is the caller's.

    Kept in the database's memo until a write touches the prompt's scope, so the pages and
    answers about one prompt cost no query while it stays unchanged; a miss is one lookup by
    key and one of its owner's name (usernames never change; a user's deletion moves every
    scope). Missing ids are kept too, small, so a scan of ids costs each one query once.
    """

    def read() -> KeptRow | None:
        with db.reading(scopes.prompt(prompt_id)):
            cur = db.cursor()
            row = first(
                cur.execute(f"SELECT hash(p), {ROW_COLUMNS} FROM prompts p WHERE p.id = ?", [prompt_id])
            )
            if row is None:
                return None
            owner_id = row[3]
            return KeptRow(with_owner_name(row[1:], usernames(cur, [owner_id])), owner_id, int(row[0]))

    return db.memo.get(("prompt", prompt_id), read, _row_weight)


def _row_weight(kept: KeptRow | None) -> int:
    """Roughly the bytes a kept row holds."""
    if kept is None:
        return 128
    prompt = kept.prompt
    return 512 + len(prompt.title) + len(prompt.description) + len(prompt.body) + sum(map(len, prompt.tags))


def visible_row(db: Database, prompt_id: int, viewer_id: int | None) -> KeptRow:
    """The kept row of a prompt the viewer may see; NotFound otherwise."""
    kept = kept_row(db, prompt_id)
    if kept is None or not may_see(kept.prompt.visibility, kept.owner_id, viewer_id):
        raise missing(prompt_id)
    return kept


def get_prompt(db: Database, prompt_id: int, viewer_id: int | None = None) -> Prompt:
    """A prompt the viewer may see; NotFound otherwise."""
    return visible_row(db, prompt_id, viewer_id).prompt


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable fields given; unknown keys are ignored."""
    cleaned: dict[str, Any] = check_prompt_fields(
        **{k: fields[k] for k in CONTENT_FIELDS if k != "tags" and k in fields}
    )
    if fields.get("tags") is not None:
        cleaned["tags"] = check_tags(fields["tags"])
    return cleaned


def _snapshot(cur: Cursor, prompt_id: int) -> None:
    """Record the prompt's current content as its numbered version."""
    touch(cur, scopes.prompt(prompt_id))
    content = ", ".join(CONTENT_FIELDS)
    cur.execute(
        f"INSERT INTO prompt_versions (prompt_id, version, {content}, created_at)"
        f" SELECT id, version, {content}, updated_at FROM prompts WHERE id = ?",
        [prompt_id],
    )


def insert_prompt(
    cur: Cursor, owner: User, fields: dict[str, Any], uid: UUID | None = None, source_id: int | None = None
) -> int:
    """Insert a validated prompt as version 1 (a fork of ``source_id`` if given), indexed; return its id."""
    content = [fields[name] if name not in CONTENT_DEFAULTS else fields.get(name, CONTENT_DEFAULTS[name])
               for name in CONTENT_FIELDS]  # fmt: skip
    row = first(
        cur.execute(
            f"INSERT INTO prompts (uid, owner_id, source_id, {', '.join(CONTENT_FIELDS)})"
            f" VALUES (coalesce(?, uuid()), ?, ?, {', '.join('?' * len(CONTENT_FIELDS))}) RETURNING id",
            [uid, owner.id, source_id, *content],
        )
    )
    assert row is not None
    prompt_id = int(row[0])
    touch(cur, LISTED, scopes.prompt(prompt_id), *scopes.prompts([source_id]))
    _snapshot(cur, prompt_id)
    _reindex(cur, prompt_id)
    return prompt_id


@dataclass(frozen=True)
class NewPrompt:
    """A validated prompt to insert, weighed for search beforehand (outside the write lock)."""

    uid: UUID
    fields: dict[str, Any]
    postings: Postings

    @property
    def length(self) -> float:
        """The prompt's weighted length for search (prompts.search_len)."""
        return self.postings[1]


def weigh(uid: UUID, fields: dict[str, Any]) -> NewPrompt:
    """A validated prompt with its search index terms, ready for insert_prompts."""
    postings = prompt_postings(
        fields["title"], fields.get("description", ""), fields["body"], fields.get("tags", [])
    )
    return NewPrompt(uid, fields, postings)


def insert_prompts(cur: Cursor, owner: User, new: list[NewPrompt]) -> dict[UUID, int]:
    """Insert many prompts as version 1, indexed, in three statements; return their ids by uid.

    A statement per prompt costs more than the rows it writes (about 1 ms each), so a batch
    of prompts written row by row would hold the write lock many times longer.
    """
    if not new:
        return {}
    values = [[item.fields.get(c, CONTENT_DEFAULTS.get(c)) for item in new] for c in CONTENT_FIELDS]
    content = ", ".join(CONTENT_FIELDS)
    unnested = ", ".join(f"unnest(?::{_SQL_TYPES.get(c, 'VARCHAR')}[])" for c in CONTENT_FIELDS)
    rows = cur.execute(
        f"INSERT INTO prompts (uid, owner_id, {content}, search_len)"
        f" SELECT unnest(?::UUID[]), ?, {unnested}, unnest(?::DOUBLE[])"
        f" RETURNING id, uid, version, {content}, updated_at",
        [[str(item.uid) for item in new], owner.id, *values, [item.length for item in new]],
    ).fetchall()
    touch(cur, LISTED, *scopes.prompts(row[0] for row in rows))
    # The first version is the row as inserted (what _snapshot would copy back out of it).
    insert_versions(cur, [row[:1] + row[2:] for row in rows])
    ids = {row[1]: int(row[0]) for row in rows}
    index_new_prompts(cur, [(ids[item.uid], item.postings) for item in new])
    return ids


# Text per create batch: a batch of the largest prompts holds the write lock no longer than a few.
CREATE_BATCH_TEXT = 4 * 1024 * 1024


def create_prompt(db: Database, owner: User, then: Then | None = None, **fields: Any) -> Prompt:
    """Create a prompt owned by ``owner``; title and body are required.

    Creates from many requests at once share a transaction (composite/db/groupcommit.py):
    one commit and one dictionary upsert for a batch costs about what one prompt's did.
    ``then(cursor, prompt)`` runs in that transaction once the prompt is written.
    """
    fields.setdefault("title", "")
    fields.setdefault("body", "")
    new = weigh(uuid4(), clean_fields(fields))
    size = len(new.fields["body"]) + len(new.fields["title"]) + len(new.fields.get("description", ""))
    return db.group_commit(_create_batch, max_weight=CREATE_BATCH_TEXT).submit((owner, new), size, then)


def _create_batch(cur: Cursor, batch: Sequence[tuple[User, NewPrompt]]) -> list[Prompt]:
    """Insert a batch of new prompts (any owners) and read each back as its owner sees it."""
    ids: dict[UUID, int] = {}
    owners = {owner.id: owner for owner, _ in batch}
    for owner_id, owner in owners.items():
        ids |= insert_prompts(cur, owner, [new for who, new in batch if who.id == owner_id])
    rows = cur.execute(
        f"SELECT {ROW_COLUMNS} FROM prompts p WHERE p.id IN (SELECT unnest(?::BIGINT[]))",
        [list(ids.values())],
    ).fetchall()
    names = {owner_id: owner.username for owner_id, owner in owners.items()}
    loaded = {row[0]: with_owner_name(row, names) for row in rows}
    return [loaded[ids[new.uid]] for _, new in batch]


def _differs(prompt: Prompt, field: str, value: Any) -> bool:
    """Whether value changes the prompt's field; tags given as a list compare as the tuple a prompt holds."""
    return getattr(prompt, field) != (tuple(value) if field == "tags" else value)


def apply_changes(cur: Cursor, prompt: Prompt, changes: dict[str, Any]) -> bool:
    """Write validated changes as a new version; False (and nothing written) if nothing changes."""
    changed = {k: v for k, v in changes.items() if _differs(prompt, k, v)}
    if not changed:
        return False
    assignments = ", ".join(f"{column} = ?" for column in changed)
    touch(cur, *_edit_scopes(prompt.id, changed))
    cur.execute(
        f"UPDATE prompts SET {assignments}, version = version + 1, updated_at = current_timestamp"
        " WHERE id = ?",
        [*changed.values(), prompt.id],
    )
    _snapshot(cur, prompt.id)
    if changed.keys() & INDEXED:
        _reindex(cur, prompt.id)
    elif "visibility" in changed:
        visibility_changed(cur, prompt.id)  # search caches who may see what: tell it
    if "visibility" in changed:
        _fork_visibility_changed(cur, [(prompt, changed["visibility"])])
    return True


def _fork_visibility_changed(cur: Cursor, moved: Iterable[tuple[Prompt, str]]) -> None:
    """Keep the sources' counts of public forks true as these prompts take their new visibility."""
    deltas: Counter[int] = Counter()
    for prompt, visibility in moved:
        if prompt.source_id is not None and visibility != prompt.visibility:
            deltas[prompt.source_id] += 1 if visibility == "public" else -1
    if changes := {source: n for source, n in deltas.items() if n}:
        touch(cur, *scopes.prompts(changes))
        cur.execute(
            "UPDATE prompts SET forks = prompts.forks + d.n FROM"
            " (SELECT unnest(?::BIGINT[]) AS id, unnest(?::INTEGER[]) AS n) d WHERE prompts.id = d.id",
            [list(changes), list(changes.values())],
        )


def apply_edits(
    cur: Cursor, edits: list[tuple[Prompt, dict[str, Any], NewPrompt | None]]
) -> list[Prompt | None]:
    """Write many validated edits as new versions, set-wise; each prompt as written (None: unchanged).

    Each edit is (prompt, changes, weighed): ``weighed`` holds the search terms of the
    edited content (all four indexed fields given) when the caller computed them outside
    the write lock, else None and they are computed here.
    """
    changed: list[tuple[Prompt, dict[str, Any], NewPrompt | None]] = []
    for prompt, changes, weighed in edits:
        differs = {k: v for k, v in changes.items() if _differs(prompt, k, v)}
        if not differs:
            continue
        merged = {field: differs.get(field, getattr(prompt, field)) for field in CONTENT_FIELDS}
        if not differs.keys() & INDEXED:
            changed.append((prompt, merged, None))
        else:
            changed.append((prompt, merged, weighed or weigh(prompt.uid, merged)))
    if not changed:
        return [None] * len(edits)
    for prompt, merged, _ in changed:
        touch(cur, *_edit_scopes(prompt.id, {k: v for k, v in merged.items() if _differs(prompt, k, v)}))
    columns = [[merged[field] for _, merged, _ in changed] for field in CONTENT_FIELDS]
    rows = cur.execute(
        "UPDATE prompts SET title = e.title, description = e.description, body = e.body,"
        " model_hint = e.model_hint, tags = e.tags, visibility = e.visibility,"
        " search_len = coalesce(e.search_len, prompts.search_len), version = prompts.version + 1,"
        " updated_at = current_timestamp FROM (SELECT unnest(?::BIGINT[]) AS id,"
        " unnest(?::VARCHAR[]) AS title, unnest(?::VARCHAR[]) AS description, unnest(?::VARCHAR[]) AS body,"
        " unnest(?::VARCHAR[]) AS model_hint, unnest(?::VARCHAR[][]) AS tags,"
        " unnest(?::VARCHAR[]) AS visibility, unnest(?::DOUBLE[]) AS search_len) e"
        " WHERE prompts.id = e.id RETURNING prompts.id, prompts.version, prompts.title,"
        " prompts.description, prompts.body, prompts.model_hint, prompts.tags, prompts.visibility,"
        " prompts.updated_at",
        [
            [prompt.id for prompt, _, _ in changed],
            *columns,
            [weighed.length if weighed else None for _, _, weighed in changed],
        ],
    ).fetchall()
    insert_versions(cur, rows)
    # Search caches who may see what: a visibility change it does not reindex must still reach it.
    moved = [
        p.id for p, merged, weighed in changed if weighed is None and merged["visibility"] != p.visibility
    ]
    visibilities_changed(cur, moved)
    _fork_visibility_changed(cur, [(p, merged["visibility"]) for p, merged, _ in changed])
    reindexed = [(prompt.id, weighed) for prompt, _, weighed in changed if weighed is not None]
    if reindexed:
        reindex_prompts(cur, [(pid, w.postings) for pid, w in reindexed])
    before = {prompt.id: prompt for prompt, _, _ in changed}
    if any(merged["visibility"] != prompt.visibility for prompt, merged, _ in changed):
        # A fork made public or private changes its source's count of forks, which may be
        # in this batch too: read the rows back.
        written = {prompt_id: row for prompt_id, (row, _) in rows_by_id(cur, before).items()}
    else:  # the rows as the UPDATE returned them: reading them back costs two queries
        written = {
            row[0]: replace(before[row[0]], **dict(zip(_RETURNED, row[1:], strict=True))) for row in rows
        }
    return [written.get(prompt.id) for prompt, _, _ in edits]


# What the edit's UPDATE returns after the id, by Prompt field name.
_RETURNED = ("version", *CONTENT_FIELDS, "updated_at")


def _edit_scopes(prompt_id: int, changed: dict[str, Any]) -> list[str]:
    """What an edit changes: the prompt, and which listings hold it if its tags or visibility moved."""
    return [scopes.prompt(prompt_id), *([LISTED] if changed.keys() & {"tags", "visibility"} else [])]


def insert_versions(cur: Cursor, rows: list[tuple[Any, ...]]) -> None:
    """Record rows (id, version, title, description, body, model_hint, tags, visibility, updated_at)."""
    touch(cur, *scopes.prompts(row[0] for row in rows))
    cur.execute(
        "INSERT INTO prompt_versions (prompt_id, version, title, description, body, model_hint, tags,"
        " visibility, created_at) SELECT unnest(?::BIGINT[]), unnest(?::INTEGER[]), unnest(?::VARCHAR[]),"
        " unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[][]),"
        " unnest(?::VARCHAR[]), unnest(?::TIMESTAMP[])",
        [list(column) for column in zip(*rows, strict=True)],
    )


def update_prompt(db: Database, prompt_id: int, editor: User, **changes: Any) -> Prompt:
    """Edit the owner's prompt; a change creates a new version, no change creates none.

    Edits sent at once share a transaction (composite/db/groupcommit.py), as creates and
    stars do: each is applied in turn, so two edits of one prompt make two versions.
    """
    cleaned = clean_fields({k: v for k, v in changes.items() if k in CONTENT_FIELDS and v is not None})
    result = db.group_commit(_write_edits).submit((prompt_id, editor, cleaned))
    if isinstance(result, DomainError):
        raise result
    return result


def _write_edits(
    cur: Cursor, items: Sequence[tuple[int, User, dict[str, Any]]]
) -> list[Prompt | DomainError]:
    """A batch of validated edits, set-wise (apply_edits): each prompt after its edit, or the refusal.

    Edits of different prompts go in one apply_edits; a second edit of one prompt waits for
    the next round, so each edit applies over the one before it and makes its own version.
    """
    rows = rows_by_id(cur, [prompt_id for prompt_id, _, _ in items])
    results: list[Prompt | DomainError | None] = [None] * len(items)
    pending: list[tuple[int, int, dict[str, Any]]] = []
    for index, (prompt_id, editor, cleaned) in enumerate(items):
        row = rows.get(prompt_id)
        if row is None or not may_see(row[0].visibility, row[1], editor.id):
            results[index] = missing(prompt_id)
        elif row[1] != editor.id:
            results[index] = Forbidden("only the owner of a prompt may change it")
        else:
            pending.append((index, prompt_id, cleaned))
    if not pending:  # every edit refused: nothing was written
        unchanged(cur)
    while pending:
        now: list[tuple[int, int, dict[str, Any]]] = []
        later: list[tuple[int, int, dict[str, Any]]] = []
        taken: set[int] = set()
        for entry in pending:
            (later if entry[1] in taken else now).append(entry)
            taken.add(entry[1])
        written = apply_edits(cur, [(rows[prompt_id][0], cleaned, None) for _, prompt_id, cleaned in now])
        if not any(written):
            unchanged(cur)  # edits to the text already there: no reader's answer moves
        for (index, prompt_id, _), prompt in zip(now, written, strict=True):
            if prompt is not None:
                rows[prompt_id] = (prompt, rows[prompt_id][1])
            results[index] = rows[prompt_id][0]
        pending = later
    assert all(result is not None for result in results)
    return results  # type: ignore[return-value]  # every item has its result now


def rows_by_id(cur: Cursor, prompt_ids: Iterable[int]) -> dict[int, tuple[Prompt, int]]:
    """Each prompt with its owner's id, read on ``cur`` in two queries whatever their number."""
    ids = sorted(set(prompt_ids))
    if not ids:
        return {}
    found = cur.execute(
        f"SELECT {ROW_COLUMNS} FROM prompts p WHERE p.id IN (SELECT unnest(?::BIGINT[]))", [ids]
    ).fetchall()
    names = usernames(cur, sorted({row[2] for row in found}))
    return {row[0]: (with_owner_name(row, names), row[2]) for row in found}


def delete_prompt(db: Database, prompt_id: int, user: User) -> None:
    """Delete the owner's prompt with its versions, labels, stars and index rows."""

    def delete(cur: Cursor) -> None:
        load_for_owner(cur, prompt_id, user)
        delete_prompts(cur, [prompt_id])

    db.write(delete)


_IDS = "SELECT unnest(?::BIGINT[])"  # the ids of a list parameter, as a subquery


def delete_prompts(cur: Cursor, prompt_ids: list[int]) -> None:
    """Delete these prompts (the caller checked they may) with their versions, labels, stars, index rows.

    A few statements whatever their number, so that a bulk delete holds the write lock
    about as long as one.
    """
    if not prompt_ids:
        return
    touch(cur, LISTED, BY_STARS, *scopes.prompts(prompt_ids))
    # Who starred them no longer finds them among their stars.
    starrers = cur.execute(
        f"SELECT DISTINCT user_id FROM stars WHERE prompt_id IN ({_IDS})", [prompt_ids]
    ).fetchall()
    touch(cur, *(scopes.starred(user_id) for (user_id,) in starrers))
    unlink_forks(cur, _IDS, [prompt_ids])
    for table in ("prompt_versions", "prompt_labels", "stars"):
        cur.execute(f"DELETE FROM {table} WHERE prompt_id IN ({_IDS})", [prompt_ids])
    unindex_prompts(cur, prompt_ids)
    cur.execute(f"DELETE FROM prompts WHERE id IN ({_IDS})", [prompt_ids])


def unlink_forks(cur: Cursor, ids_sql: str, params: list[Any]) -> None:
    """Before the prompts ``ids_sql`` selects are deleted: sources lose their public forks, forks the link."""
    linked = cur.execute(
        f"SELECT source_id FROM prompts WHERE id IN ({ids_sql}) AND source_id IS NOT NULL"
        f" UNION SELECT id FROM prompts WHERE source_id IN ({ids_sql})",
        [*params, *params],
    ).fetchall()
    touch(cur, *scopes.prompts(row[0] for row in linked))
    cur.execute(
        "UPDATE prompts SET forks = prompts.forks - f.n FROM (SELECT source_id, count(*) AS n FROM prompts"
        f" WHERE id IN ({ids_sql}) AND source_id IS NOT NULL AND visibility = 'public' GROUP BY source_id) f"
        " WHERE prompts.id = f.source_id",
        params,
    )
    # Ids are never reused, so a dangling link could not point at another prompt; cleared
    # anyway, so that no later reader has to know that.
    cur.execute(f"UPDATE prompts SET source_id = NULL WHERE source_id IN ({ids_sql})", params)


def _reindex(cur: Cursor, prompt_id: int) -> None:
    row = first(cur.execute("SELECT title, description, body, tags FROM prompts WHERE id = ?", [prompt_id]))
    assert row is not None
    index_prompt(cur, prompt_id, *row)
