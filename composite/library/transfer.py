"""Export a user's prompts as JSON and import such a file, merging rather than duplicating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import duckdb

from composite.db import Database
from composite.library.accounts import User
from composite.library.errors import Invalid
from composite.library.prompts import (
    PROMPT_COLUMNS,
    Prompt,
    apply_changes,
    clean_fields,
    insert_prompt,
    load_visible,
)

EXPORT_FORMAT = "allucanget-prompts"
EXPORT_VERSION = 1
MAX_IMPORT = 1000
FIELDS = ("title", "description", "body", "model_hint", "tags", "visibility")


@dataclass(frozen=True)
class ImportResult:
    """How an import went: prompts created, changed (new version) and already up to date."""

    created: int
    updated: int
    unchanged: int


def export_prompts(db: Database, user: User) -> dict[str, Any]:
    """All of the user's prompts, public and private, at their latest version."""
    rows = db.fetchall(
        f"SELECT {PROMPT_COLUMNS} FROM prompts p JOIN users u ON u.id = p.owner_id"
        " WHERE p.owner_id = ? ORDER BY p.id",
        [user.id],
    )
    prompts = [Prompt(*row) for row in rows]
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "owner": user.username,
        "prompts": [
            {
                "uid": str(p.uid),
                **{field: getattr(p, field) for field in FIELDS},
                "created_at": p.created_at.isoformat(),
                "updated_at": p.updated_at.isoformat(),
            }
            for p in prompts
        ],
    }


def _parse(document: Any) -> list[tuple[UUID | None, dict[str, Any]]]:
    """Validate an export document before anything is written."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise Invalid({"file": f"not a prompt export (expected format {EXPORT_FORMAT!r})"})
    items = document.get("prompts")
    if not isinstance(items, list):
        raise Invalid({"prompts": "must be a list"})
    if len(items) > MAX_IMPORT:
        raise Invalid({"prompts": f"at most {MAX_IMPORT} prompts per import"})
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Invalid({f"prompts[{index}]": "must be an object"})
        try:
            uid = UUID(item["uid"]) if item.get("uid") else None
        except (TypeError, ValueError, AttributeError):
            raise Invalid({f"prompts[{index}].uid": "must be a UUID"}) from None
        raw = {field: item.get(field) for field in FIELDS if item.get(field) is not None}
        for field, value in raw.items():
            expected = list if field == "tags" else str
            if not isinstance(value, expected) or (
                field == "tags" and not all(isinstance(tag, str) for tag in value)
            ):
                raise Invalid({f"prompts[{index}].{field}": f"must be a {expected.__name__}"})
        try:
            fields = clean_fields({"title": "", "body": "", **raw})
        except Invalid as exc:
            raise Invalid({f"prompts[{index}].{k}": v for k, v in exc.errors.items()}) from None
        parsed.append((uid, fields))
    return parsed


def import_prompts(db: Database, user: User, document: Any) -> ImportResult:
    """Merge an export into the user's prompts: same uid updates, same content is skipped."""
    entries = _parse(document)

    def merge(cur: duckdb.DuckDBPyConnection) -> ImportResult:
        created = updated = unchanged = 0
        for given_uid, fields in entries:
            uid, existing = given_uid, None
            if uid is not None:
                row = cur.execute("SELECT id, owner_id FROM prompts WHERE uid = ?", [uid]).fetchone()
                if row and row[1] == user.id:
                    existing = row[0]
                elif row:
                    uid = None  # another user's prompt: import a copy under a new uid
            if existing is None:
                same = cur.execute(
                    "SELECT id FROM prompts WHERE owner_id = ? AND title = ? AND body = ?",
                    [user.id, fields["title"], fields["body"]],
                ).fetchone()
                existing = same[0] if same else None
            if existing is None:
                insert_prompt(cur, user, fields, uid)
                created += 1
            elif apply_changes(cur, load_visible(cur, existing, user.id), fields):
                updated += 1
            else:
                unchanged += 1
        return ImportResult(created, updated, unchanged)

    return db.write(merge)
