"""Prompts: create, read, edit (every edit a new version), delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import duckdb

from composite.db import Cursor, Database
from composite.library.accounts import User
from composite.library.errors import Forbidden, NotFound
from composite.library.rules import check_prompt_fields, check_tags
from composite.library.search import index_prompt, unindex_prompt, visibility_changed

EDITABLE = ("title", "description", "body", "model_hint", "tags", "visibility")

# Columns of a Prompt, in its field order, for queries over prompts p joined to users u.
PROMPT_COLUMNS = (
    "p.id, p.uid, u.username, p.title, p.description, p.body, p.model_hint, p.tags,"
    " p.visibility, p.version, p.stars, p.created_at, p.updated_at"
)
# Which rows a viewer may see: public ones and their own. Parameter: the viewer's id.
VISIBLE_TO = "(p.visibility = 'public' OR p.owner_id = ?)"


@dataclass(frozen=True)
class Prompt:
    """A prompt at its latest version."""

    id: int
    uid: UUID
    owner: str
    title: str
    description: str
    body: str
    model_hint: str
    tags: list[str]
    visibility: str
    version: int
    stars: int
    created_at: datetime
    updated_at: datetime

    @property
    def public(self) -> bool:
        """True when anyone may see the prompt."""
        return self.visibility == "public"


def load_visible(cur: Cursor, prompt_id: int, viewer_id: int | None) -> Prompt:
    """The prompt if the viewer may see it, read on ``cur`` (inside a write when one is open)."""
    row = cur.execute(
        f"SELECT {PROMPT_COLUMNS} FROM prompts p JOIN users u ON u.id = p.owner_id"
        f" WHERE p.id = ? AND {VISIBLE_TO}",
        [prompt_id, viewer_id],
    ).fetchone()
    if row is None:
        # Someone else's private prompt is indistinguishable from a missing one.
        raise NotFound(f"no prompt {prompt_id}")
    return Prompt(*row)


def _owner_id(cur: Cursor, prompt_id: int) -> int | None:
    row = cur.execute("SELECT owner_id FROM prompts WHERE id = ?", [prompt_id]).fetchone()
    return row[0] if row else None


def load_for_owner(cur: Cursor, prompt_id: int, user: User) -> Prompt:
    """The prompt if the user owns it: NotFound if they cannot see it, Forbidden if not theirs."""
    prompt = load_visible(cur, prompt_id, user.id)
    if _owner_id(cur, prompt_id) != user.id:
        raise Forbidden("only the owner of a prompt may change it")
    return prompt


def get_prompt(db: Database, prompt_id: int, viewer_id: int | None = None) -> Prompt:
    """A prompt the viewer may see; NotFound otherwise."""
    return load_visible(db.cursor(), prompt_id, viewer_id)


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate the editable fields given; unknown keys are ignored."""
    cleaned: dict[str, Any] = check_prompt_fields(
        **{k: fields[k] for k in ("title", "body", "description", "model_hint", "visibility") if k in fields}
    )
    if fields.get("tags") is not None:
        cleaned["tags"] = check_tags(fields["tags"])
    return cleaned


def _snapshot(cur: Cursor, prompt_id: int) -> None:
    """Record the prompt's current content as its numbered version."""
    cur.execute(
        "INSERT INTO prompt_versions (prompt_id, version, title, description, body, model_hint, tags,"
        " visibility, created_at) SELECT id, version, title, description, body, model_hint, tags,"
        " visibility, updated_at FROM prompts WHERE id = ?",
        [prompt_id],
    )


def insert_prompt(cur: Cursor, owner: User, fields: dict[str, Any], uid: UUID | None = None) -> int:
    """Insert a validated prompt as version 1 and index it; return its id."""
    row = cur.execute(
        "INSERT INTO prompts (uid, owner_id, title, description, body, model_hint, tags, visibility)"
        " VALUES (coalesce(?, uuid()), ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [
            uid,
            owner.id,
            fields["title"],
            fields.get("description", ""),
            fields["body"],
            fields.get("model_hint", ""),
            fields.get("tags", []),
            fields.get("visibility", "public"),
        ],
    ).fetchone()
    assert row is not None
    prompt_id = int(row[0])
    _snapshot(cur, prompt_id)
    _reindex(cur, prompt_id)
    return prompt_id


def create_prompt(db: Database, owner: User, **fields: Any) -> Prompt:
    """Create a prompt owned by ``owner``; title and body are required."""
    fields.setdefault("title", "")
    fields.setdefault("body", "")
    cleaned = clean_fields(fields)

    def insert(cur: duckdb.DuckDBPyConnection) -> Prompt:
        return load_visible(cur, insert_prompt(cur, owner, cleaned), owner.id)

    return db.write(insert)


def apply_changes(cur: Cursor, prompt: Prompt, changes: dict[str, Any]) -> bool:
    """Write validated changes as a new version; False (and nothing written) if nothing changes."""
    changed = {k: v for k, v in changes.items() if getattr(prompt, k) != v}
    if not changed:
        return False
    assignments = ", ".join(f"{column} = ?" for column in changed)
    cur.execute(
        f"UPDATE prompts SET {assignments}, version = version + 1, updated_at = current_timestamp"
        " WHERE id = ?",
        [*changed.values(), prompt.id],
    )
    _snapshot(cur, prompt.id)
    if changed.keys() & {"title", "description", "body", "tags"}:
        _reindex(cur, prompt.id)
    elif "visibility" in changed:
        visibility_changed(cur, prompt.id)  # search caches who may see what: tell it
    return True


def update_prompt(db: Database, prompt_id: int, editor: User, **changes: Any) -> Prompt:
    """Edit the owner's prompt; a change creates a new version, no change creates none."""
    cleaned = clean_fields({k: v for k, v in changes.items() if k in EDITABLE and v is not None})

    def edit(cur: duckdb.DuckDBPyConnection) -> Prompt:
        prompt = load_for_owner(cur, prompt_id, editor)
        apply_changes(cur, prompt, cleaned)
        return load_visible(cur, prompt_id, editor.id)

    return db.write(edit)


def delete_prompt(db: Database, prompt_id: int, user: User) -> None:
    """Delete the owner's prompt with its versions, stars and index rows."""

    def delete(cur: duckdb.DuckDBPyConnection) -> None:
        load_for_owner(cur, prompt_id, user)
        for table in ("prompt_versions", "stars"):
            cur.execute(f"DELETE FROM {table} WHERE prompt_id = ?", [prompt_id])
        unindex_prompt(cur, prompt_id)
        cur.execute("DELETE FROM prompts WHERE id = ?", [prompt_id])

    db.write(delete)


def _reindex(cur: Cursor, prompt_id: int) -> None:
    row = cur.execute(
        "SELECT title, description, body, tags FROM prompts WHERE id = ?", [prompt_id]
    ).fetchone()
    assert row is not None
    index_prompt(cur, prompt_id, *row)
