"""Prompt history: every version kept, viewed, compared and restored."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

import duckdb

from composite.db import Database
from composite.library.accounts import User
from composite.library.errors import NotFound
from composite.library.prompts import Prompt, apply_changes, load_for_owner, load_visible

VERSION_COLUMNS = "version, title, description, body, model_hint, tags, visibility, created_at"


@dataclass(frozen=True)
class PromptVersion:
    """A prompt as it was at one version."""

    prompt_id: int
    version: int
    title: str
    description: str
    body: str
    model_hint: str
    tags: list[str]
    visibility: str
    created_at: datetime


@dataclass(frozen=True)
class DiffLine:
    """One line of a comparison: op is ' ' (same), '-' (only in the old) or '+' (only in the new)."""

    op: str
    text: str


@dataclass(frozen=True)
class FieldChange:
    """A one-line field that differs between two versions."""

    field: str
    old: str
    new: str


def list_versions(db: Database, prompt_id: int, viewer_id: int | None = None) -> list[PromptVersion]:
    """Every version of a prompt the viewer may see, newest first."""
    cur = db.cursor()
    load_visible(cur, prompt_id, viewer_id)
    rows = cur.execute(
        f"SELECT prompt_id, {VERSION_COLUMNS} FROM prompt_versions WHERE prompt_id = ? ORDER BY version DESC",
        [prompt_id],
    ).fetchall()
    return [PromptVersion(*row) for row in rows]


def get_version(db: Database, prompt_id: int, version: int, viewer_id: int | None = None) -> PromptVersion:
    """One version of a prompt the viewer may see; NotFound otherwise."""
    cur = db.cursor()
    load_visible(cur, prompt_id, viewer_id)
    row = cur.execute(
        f"SELECT prompt_id, {VERSION_COLUMNS} FROM prompt_versions WHERE prompt_id = ? AND version = ?",
        [prompt_id, version],
    ).fetchone()
    if row is None:
        raise NotFound(f"prompt {prompt_id} has no version {version}")
    return PromptVersion(*row)


def restore_version(db: Database, prompt_id: int, version: int, user: User) -> Prompt:
    """Make an old version current again, as a new version (history is never rewritten)."""

    def restore(cur: duckdb.DuckDBPyConnection) -> Prompt:
        prompt = load_for_owner(cur, prompt_id, user)
        row = cur.execute(
            "SELECT title, description, body, model_hint, tags, visibility FROM prompt_versions"
            " WHERE prompt_id = ? AND version = ?",
            [prompt_id, version],
        ).fetchone()
        if row is None:
            raise NotFound(f"prompt {prompt_id} has no version {version}")
        fields = dict(
            zip(("title", "description", "body", "model_hint", "tags", "visibility"), row, strict=True)
        )
        apply_changes(cur, prompt, fields)
        return load_visible(cur, prompt_id, user.id)

    return db.write(restore)


def diff_versions(old: PromptVersion, new: PromptVersion) -> tuple[list[FieldChange], list[DiffLine]]:
    """What changed from ``old`` to ``new``: one-line fields, then the body line by line."""
    changes = [
        FieldChange(field, _as_text(getattr(old, field)), _as_text(getattr(new, field)))
        for field in ("title", "description", "model_hint", "tags", "visibility")
        if getattr(old, field) != getattr(new, field)
    ]
    lines = [
        DiffLine(line[0], line[2:])
        for line in difflib.ndiff(old.body.splitlines(), new.body.splitlines())
        if line[0] in " -+"
    ]
    return changes, lines


def _as_text(value: object) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)
