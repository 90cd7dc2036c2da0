"""Labels: names an owner points at versions of a prompt, so applications fetch "production"."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from composite.db import Cursor, Database, first, rows_as, touch
from composite.library import scopes
from composite.library.accounts import User
from composite.library.errors import Conflict, Invalid, NotFound
from composite.library.history import RESTORED, get_version
from composite.library.prompts import Prompt, get_prompt, load_for_owner, may_see, missing

LABEL_MAX = 32
LABEL_RE = re.compile(rf"^[a-z0-9-]{{1,{LABEL_MAX}}}$")
# Labels are few by nature (production, staging, a canary or two): the bound keeps every
# answer that lists them, and the history page, small.
MAX_LABELS = 20


@dataclass(frozen=True)
class Label:
    """A name pointing at one version of a prompt."""

    name: str
    version: int
    updated_at: datetime


def check_label_name(name: str) -> str:
    """A label name of 1-32 characters of a-z, 0-9 and '-'; Invalid otherwise."""
    if not LABEL_RE.fullmatch(name or ""):  # match() would let a trailing newline through
        raise Invalid({"name": f"a label is 1-{LABEL_MAX} characters of a-z, 0-9 and '-'"})
    return name


def visible_labels(cur: Cursor, prompt_id: int, viewer_id: int | None, owner_id: int) -> list[Label]:
    """The prompt's labels that point at versions the viewer may see, by name (at most MAX_LABELS).

    A label on a version saved while the prompt was private is the owner's only, as that
    version is (composite.library.history). Lookups by key rather than a join of three
    tables: one for the owner (half the join's time, measured), a second for others only
    when the prompt has labels.
    """
    labels = _all_labels(cur, prompt_id)
    if not labels or viewer_id == owner_id:
        return labels
    public = _public_versions(cur, prompt_id, labels)
    return [label for label in labels if label.version in public]


def _all_labels(cur: Cursor, prompt_id: int) -> list[Label]:
    return rows_as(
        Label,
        cur.execute(
            "SELECT name, version, updated_at FROM prompt_labels WHERE prompt_id = ? ORDER BY name",
            [prompt_id],
        ),
    )


def _public_versions(cur: Cursor, prompt_id: int, labels: list[Label]) -> set[int]:
    """Which of the versions these labels point at were saved public."""
    return {
        row[0]
        for row in cur.execute(
            "SELECT version FROM prompt_versions WHERE prompt_id = ? AND list_contains(?::INTEGER[], version)"
            " AND visibility = 'public'",
            [prompt_id, [label.version for label in labels]],
        ).fetchall()
    }


def kept_labels(db: Database, prompt_id: int) -> tuple[tuple[Label, bool], ...]:
    """Every label of the prompt by name, each with whether its version is public: kept until a write to it.

    The viewer's share is the caller's (``seen_by``): the same kept answer serves everyone.
    Versions never change their visibility once saved, and a label's move touches the prompt.
    """

    def read() -> tuple[tuple[Label, bool], ...]:
        with db.reading(scopes.prompt(prompt_id)):
            cur = db.cursor()
            labels = _all_labels(cur, prompt_id)
            public = _public_versions(cur, prompt_id, labels) if labels else set()
        return tuple((label, label.version in public) for label in labels)

    return db.memo.get(("labels", prompt_id), read, lambda kept: 128 + 64 * len(kept))


def seen_by(kept: tuple[tuple[Label, bool], ...], viewer_id: int | None, owner_id: int) -> list[Label]:
    """The kept labels this viewer may see: the owner every one, others those on public versions."""
    return [label for label, public in kept if public or viewer_id == owner_id]


def visible_owner(cur: Cursor, prompt_id: int, viewer_id: int | None) -> int:
    """The owner's id of a prompt the viewer may see; NotFound otherwise."""
    row = first(cur.execute("SELECT owner_id, visibility FROM prompts p WHERE p.id = ?", [prompt_id]))
    if row is None or not may_see(row[1], row[0], viewer_id):
        raise missing(prompt_id)
    return int(row[0])


def list_labels(db: Database, prompt_id: int, viewer_id: int | None = None) -> list[Label]:
    """The labels of a prompt the viewer may see, by name; NotFound for a prompt they may not see."""
    cur = db.cursor()
    return visible_labels(cur, prompt_id, viewer_id, visible_owner(cur, prompt_id, viewer_id))


def by_version(labels: list[Label]) -> dict[int, list[str]]:
    """The names of the labels pointing at each version."""
    names: dict[int, list[str]] = {}
    for label in labels:
        names.setdefault(label.version, []).append(label.name)
    return names


def target(labels: list[Label], prompt_id: int, name: str) -> int:
    """The version ``name`` points at among ``labels``; NotFound when it is not one of them."""
    for label in labels:
        if label.name == name:
            return label.version
    # Also the answer for a label on a version the viewer may not see: it is not theirs to know.
    raise NotFound(f"prompt {prompt_id} has no label '{name}'")


def at_version(prompt: Prompt, version: int, db: Database, viewer_id: int | None) -> Prompt:
    """The prompt with the content of one of its versions (as a label gives it); visibility stays current."""
    old = get_version(db, prompt.id, version, viewer_id)
    content = {name: getattr(old, name) for name in RESTORED}
    return replace(prompt, **content, version=old.version, updated_at=old.created_at)


def labelled_prompt(db: Database, prompt_id: int, name: str, viewer_id: int | None = None) -> Prompt:
    """The prompt at the version its label ``name`` points at; NotFound if the viewer sees no such label."""
    version = target(list_labels(db, prompt_id, viewer_id), prompt_id, name)
    return at_version(get_prompt(db, prompt_id, viewer_id), version, db, viewer_id)


def set_label(db: Database, prompt_id: int, name: str, version: int, user: User) -> tuple[Label, bool]:
    """Point the owner's label at a version, creating or moving it; True when it is new."""
    check_label_name(name)

    def point(cur: Cursor) -> tuple[Label, bool]:
        load_for_owner(cur, prompt_id, user)
        touch(cur, scopes.prompt(prompt_id))
        exists = first(
            cur.execute(
                "SELECT 1 FROM prompt_versions WHERE prompt_id = ? AND version = ?", [prompt_id, version]
            )
        )
        if exists is None:
            raise NotFound(f"prompt {prompt_id} has no version {version}")
        names = [row[0] for row in cur.execute(
            "SELECT name FROM prompt_labels WHERE prompt_id = ?", [prompt_id]
        ).fetchall()]  # fmt: skip
        if name not in names and len(names) >= MAX_LABELS:
            raise Conflict(f"a prompt has at most {MAX_LABELS} labels: remove one first")
        cur.execute(
            "INSERT INTO prompt_labels (prompt_id, name, version) VALUES (?, ?, ?)"
            " ON CONFLICT (prompt_id, name) DO UPDATE SET version = excluded.version,"
            " updated_at = get_current_timestamp()",
            [prompt_id, name, version],
        )
        labels = visible_labels(cur, prompt_id, user.id, user.id)
        return next(label for label in labels if label.name == name), name not in names

    return db.write(point)


def remove_label(db: Database, prompt_id: int, name: str, user: User) -> None:
    """Remove the owner's label; NotFound when the prompt has no such label."""

    def remove(cur: Cursor) -> None:
        load_for_owner(cur, prompt_id, user)
        touch(cur, scopes.prompt(prompt_id))
        removed = cur.execute(
            "DELETE FROM prompt_labels WHERE prompt_id = ? AND name = ? RETURNING 1", [prompt_id, name]
        ).fetchall()
        if not removed:
            raise NotFound(f"prompt {prompt_id} has no label '{name}'")

    db.write(remove)
