"""Prompt history: every version kept, viewed, compared and restored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from composite.db import Cursor, Database, first, row_as, rows_as
from composite.library.accounts import User
from composite.library.diff import LineDiff, diff_lines
from composite.library.errors import NotFound
from composite.library.prompts import (
    CONTENT_FIELDS,
    VISIBLE_TO,
    Prompt,
    PromptContent,
    apply_changes,
    load_for_owner,
    load_visible,
)
from composite.library.word_diff import WordDiff, diff_words

HISTORY_PAGE = 20
MAX_HISTORY_PAGE = 100
MAX_VERSION_CHOICES = 200  # the newest versions a compare form offers; older ones by number in the URL
VERSION_COLUMNS = ", ".join(["v.version", *(f"v.{name}" for name in CONTENT_FIELDS), "v.created_at"])
# Which versions a viewer may see (of a prompt they may see): those saved while the prompt
# was public, and all of their own. Text saved while private never becomes public by
# a later change of the prompt. Parameter: the viewer's id.
VERSION_VISIBLE_TO = "(v.visibility = 'public' OR p.owner_id = ?)"
_VERSIONS = "prompt_versions v JOIN prompts p ON p.id = v.prompt_id"
# What a restore brings back. Not visibility: restoring an old public version of a prompt
# made private since must not publish it again.
RESTORED = tuple(name for name in CONTENT_FIELDS if name != "visibility")


@dataclass(frozen=True)
class _VersionKey:
    prompt_id: int
    version: int


# Key, content, then created_at: the order of the version queries' columns.
@dataclass(frozen=True)
class PromptVersion(PromptContent, _VersionKey):
    """A prompt as it was at one version."""

    created_at: datetime


@dataclass(frozen=True)
class FieldChange:
    """A one-line field that differs between two versions."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions: one-line fields, then the body line by line and word by word."""

    changes: list[FieldChange]
    body: LineDiff
    words: WordDiff


@dataclass(frozen=True)
class VersionPage:
    """One page of a prompt's versions, newest first, and how many the viewer may see in all."""

    items: list[PromptVersion]
    total: int
    limit: int
    offset: int


def list_versions(
    db: Database, prompt_id: int, viewer_id: int | None = None, *, limit: int = HISTORY_PAGE, offset: int = 0
) -> VersionPage:
    """A page of the versions of a prompt the viewer may see, newest first (others skip private ones)."""
    # Every edit adds a version and nothing caps how many a prompt has: a page is what bounds a request.
    limit = max(1, min(limit, MAX_HISTORY_PAGE))
    cur = db.cursor()
    load_visible(cur, prompt_id, viewer_id)
    versions = rows_as(
        PromptVersion,
        cur.execute(
            f"SELECT v.prompt_id, {VERSION_COLUMNS} FROM {_VERSIONS}"
            f" WHERE v.prompt_id = ? AND {VERSION_VISIBLE_TO} ORDER BY v.version DESC LIMIT ? OFFSET ?",
            [prompt_id, viewer_id, limit, offset],
        ),
    )
    total = first(
        cur.execute(
            f"SELECT count(*) FROM {_VERSIONS} WHERE v.prompt_id = ? AND {VERSION_VISIBLE_TO}",
            [prompt_id, viewer_id],
        )
    )
    return VersionPage(versions, int(total[0]) if total else 0, limit, offset)


def version_numbers(db: Database, prompt_id: int, viewer_id: int | None = None) -> list[int]:
    """The numbers of the newest versions the viewer may see (at most MAX_VERSION_CHOICES), newest first."""
    cur = db.cursor()
    load_visible(cur, prompt_id, viewer_id)
    rows = cur.execute(
        f"SELECT v.version FROM {_VERSIONS} WHERE v.prompt_id = ? AND {VERSION_VISIBLE_TO}"
        " ORDER BY v.version DESC LIMIT ?",
        [prompt_id, viewer_id, MAX_VERSION_CHOICES],
    ).fetchall()
    return [row[0] for row in rows]


def get_version(db: Database, prompt_id: int, version: int, viewer_id: int | None = None) -> PromptVersion:
    """One version of a prompt the viewer may see; NotFound otherwise (also for a private one)."""
    cur = db.cursor()
    load_visible(cur, prompt_id, viewer_id)
    found = row_as(
        PromptVersion,
        cur.execute(
            f"SELECT v.prompt_id, {VERSION_COLUMNS} FROM {_VERSIONS}"
            f" WHERE v.prompt_id = ? AND v.version = ? AND {VERSION_VISIBLE_TO}",
            [prompt_id, version, viewer_id],
        ),
    )
    if found is None:
        # A version saved while private is indistinguishable from a missing one.
        raise NotFound(f"prompt {prompt_id} has no version {version}")
    return found


def previous_version(db: Database, prompt_id: int, version: int, viewer_id: int | None = None) -> int | None:
    """The number of the latest version before ``version`` that the viewer may see, if any."""
    row = first(
        db.cursor().execute(
            f"SELECT max(v.version) FROM {_VERSIONS} WHERE v.prompt_id = ? AND v.version < ?"
            f" AND {VISIBLE_TO} AND {VERSION_VISIBLE_TO}",
            [prompt_id, version, viewer_id, viewer_id],
        )
    )
    return row[0] if row else None


def restore_version(db: Database, prompt_id: int, version: int, user: User) -> Prompt:
    """Make an old version's content current again, as a new version; visibility stays as it is."""

    def restore(cur: Cursor) -> Prompt:
        prompt = load_for_owner(cur, prompt_id, user)
        row = first(
            cur.execute(
                f"SELECT {', '.join(RESTORED)} FROM prompt_versions WHERE prompt_id = ? AND version = ?",
                [prompt_id, version],
            )
        )
        if row is None:
            raise NotFound(f"prompt {prompt_id} has no version {version}")
        fields = dict(zip(RESTORED, row, strict=True))
        apply_changes(cur, prompt, fields)
        return load_visible(cur, prompt_id, user.id)

    return db.write(restore)


def diff_versions(old: PromptVersion, new: PromptVersion) -> VersionDiff:
    """What changed from ``old`` to ``new``, at a bounded cost whatever the bodies (see diff.py)."""
    changes = [
        FieldChange(field, _as_text(getattr(old, field)), _as_text(getattr(new, field)))
        for field in CONTENT_FIELDS
        if field != "body" and getattr(old, field) != getattr(new, field)
    ]
    body = diff_lines(old.body.splitlines(), new.body.splitlines())
    return VersionDiff(changes, body, diff_words(body))


def _as_text(value: object) -> str:
    return ", ".join(value) if isinstance(value, tuple) else str(value)
