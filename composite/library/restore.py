"""What an export item carries beyond its content, checked on import and restored on a new prompt.

A version-2 export (composite.library.export) gives each prompt its version number, its
earlier versions with the time each was saved, its labels, its dates and the prompt it was
forked from. A prompt the import creates gets all of it back, so an account moved to
another server, or restored from its export, has the same history, labels and dates. A
prompt the import matches to one already stored keeps its own: the item's content becomes
a new version of it, as an edit would, and the item's history is not merged into another.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from composite.db import Cursor, touch
from composite.library import scopes
from composite.library.accounts import User
from composite.library.errors import Invalid
from composite.library.labels import MAX_LABELS, check_label_name
from composite.library.prompts import CONTENT_DEFAULTS, CONTENT_FIELDS, clean_fields, insert_versions, may_see

TAGS = CONTENT_FIELDS.index("tags")
# The keys of an item that carry its past; one without any is imported as version 1, now.
PAST_KEYS = ("version", "history", "labels", "source", "created_at", "updated_at")


@dataclass(frozen=True)
class Past:
    """An item's history, labels, dates and fork source, checked; restored on a prompt new to the user."""

    versions: tuple[tuple[dict[str, Any], datetime | None], ...]  # versions 1, 2, … before the item's own
    labels: tuple[tuple[str, int], ...]
    created_at: datetime | None
    updated_at: datetime | None
    source_uid: UUID | None

    @property
    def version(self) -> int:
        """The version the item itself is: one past its history."""
        return len(self.versions) + 1


def content_fields(item: dict[str, Any], where: str = "") -> dict[str, Any]:
    """An item's content fields of the right JSON types, uncleaned; Invalid names the one that is not."""
    fields = {field: item.get(field) for field in CONTENT_FIELDS if item.get(field) is not None}
    for field, value in fields.items():
        expected = list if field == "tags" else str
        strings = field != "tags" or all(isinstance(tag, str) for tag in value)
        if not isinstance(value, expected) or not strings:
            raise Invalid({f"{where}{field}": f"must be a {expected.__name__}"})
    return fields


def _moment(value: Any, field: str) -> datetime | None:
    """A time as the export writes it (ISO 8601), as the database keeps it: UTC without a zone."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid({field: "must be a date and time in ISO 8601 form"}) from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def read_past(item: dict[str, Any]) -> Past | None:
    """The past an export item carries, checked; None when it carries none. Invalid says what is wrong."""
    if all(item.get(key) is None for key in PAST_KEYS):
        return None
    history = item.get("history") or []
    if not isinstance(history, list):
        raise Invalid({"history": "must be a list of earlier versions"})
    versions = []
    for number, old in enumerate(history, start=1):
        where = f"history version {number} "
        if not isinstance(old, dict) or old.get("version") != number:
            raise Invalid({"history": f"must list versions 1, 2, … in order; entry {number} does not"})
        try:
            fields = clean_fields({"title": "", "body": "", **content_fields(old, where)})
        except Invalid as exc:
            raise Invalid({f"{where}{field}": problem for field, problem in exc.errors.items()}) from None
        versions.append((fields, _moment(old.get("saved_at"), f"{where}saved_at")))
    version = item.get("version")
    if versions and version is not None and version != len(versions) + 1:
        raise Invalid({"version": f"is {version!r}, but the history holds {len(versions)} earlier versions"})
    labels = item.get("labels") or {}
    if not isinstance(labels, dict) or len(labels) > MAX_LABELS:
        raise Invalid({"labels": f"must map at most {MAX_LABELS} label names to version numbers"})
    for name, at in labels.items():
        check_label_name(name)
        if not isinstance(at, int) or isinstance(at, bool) or not 1 <= at <= len(versions) + 1:
            raise Invalid({"labels": f"{name} points at version {at!r}, which the item does not hold"})
    source = item.get("source")
    try:
        source_uid = UUID(source["uid"]) if isinstance(source, dict) and source.get("uid") else None
    except (TypeError, ValueError):
        raise Invalid({"source": "must name the uid of the prompt this one was forked from"}) from None
    return Past(
        tuple(versions),
        tuple(sorted(labels.items())),
        _moment(item.get("created_at"), "created_at"),
        _moment(item.get("updated_at"), "updated_at"),
        source_uid,
    )


def restore(cur: Cursor, user: User, created: list[tuple[int, dict[str, Any], Past]]) -> None:
    """Give prompts just created by an import (id, latest fields, past) their history, labels and dates.

    A few statements for the whole batch, inside its transaction. A fork's source is linked
    when the importer may see it in this library; it then counts the fork if it is public.
    """
    if not created:
        return
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = [prompt_id for prompt_id, _, _ in created]
    touch(cur, *scopes.prompts(ids))
    sources = _visible_sources(cur, user, {past.source_uid for _, _, past in created if past.source_uid})
    updated = [past.updated_at or now for _, _, past in created]
    cur.execute(
        "UPDATE prompts SET version = m.version, created_at = m.created, updated_at = m.updated,"
        " source_id = m.source FROM (SELECT unnest(?::BIGINT[]) AS id, unnest(?::INTEGER[]) AS version,"
        " unnest(?::TIMESTAMP[]) AS created, unnest(?::TIMESTAMP[]) AS updated,"
        " unnest(?::BIGINT[]) AS source) m WHERE prompts.id = m.id",
        [
            ids,
            [past.version for _, _, past in created],
            [past.created_at or (past.versions[0][1] if past.versions else None) or at
             for (_, _, past), at in zip(created, updated, strict=True)],
            updated,
            [sources.get(past.source_uid) if past.source_uid else None for _, _, past in created],
        ],
    )  # fmt: skip
    # The first version insert_prompts recorded gives way to the whole history.
    cur.execute("DELETE FROM prompt_versions WHERE prompt_id IN (SELECT unnest(?::BIGINT[]))", [ids])
    rows = []
    for (prompt_id, latest, past), at in zip(created, updated, strict=True):
        for number, (fields, saved_at) in enumerate((*past.versions, (latest, at)), start=1):
            content = [fields.get(name, CONTENT_DEFAULTS.get(name)) for name in CONTENT_FIELDS]
            content[TAGS] = list(content[TAGS])
            rows.append((prompt_id, number, *content, saved_at or at))
    insert_versions(cur, rows)
    labels = [(prompt_id, name, at) for prompt_id, _, past in created for name, at in past.labels]
    if labels:
        cur.execute(
            "INSERT INTO prompt_labels (prompt_id, name, version, updated_at) SELECT unnest(?::BIGINT[]),"
            " unnest(?::VARCHAR[]), unnest(?::INTEGER[]), ?",
            [[row[0] for row in labels], [row[1] for row in labels], [row[2] for row in labels], now],
        )
    forks = Counter(
        sources[past.source_uid]
        for _, latest, past in created
        if past.source_uid in sources and latest.get("visibility") == "public"
    )
    if forks:
        touch(cur, *scopes.prompts(forks))
        cur.execute(
            "UPDATE prompts SET forks = forks + m.n FROM (SELECT unnest(?::BIGINT[]) AS id,"
            " unnest(?::INTEGER[]) AS n) m WHERE prompts.id = m.id",
            [list(forks), list(forks.values())],
        )


def _visible_sources(cur: Cursor, user: User, uids: set[UUID]) -> dict[UUID, int]:
    """The prompts with these uids that the user may see, by uid: the sources a fork may link to."""
    if not uids:
        return {}
    rows = cur.execute(
        "SELECT uid, id, visibility, owner_id FROM prompts"
        " WHERE uid IN (SELECT unnest(?::UUID[])) ORDER BY id",
        [[str(uid) for uid in uids]],
    ).fetchall()
    found: dict[UUID, int] = {}
    for uid, prompt_id, visibility, owner_id in rows:
        if may_see(visibility, owner_id, user.id):
            found.setdefault(uid, prompt_id)
    return found
