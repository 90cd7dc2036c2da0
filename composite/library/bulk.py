"""Bulk actions on one's own prompts: make them public or private, add or remove a tag, delete them.

One request names up to ``BULK_MAX`` prompts and one action. Each prompt changes exactly as
one edit or one delete would change it (prompts.apply_edits, prompts.delete_prompts): a new
version, the search index, the caches, the tag rules. The prompts are written in short
transactions (composite/db/batches.py), a few statements each however many prompts they
hold, so that other writers wait for one batch at most. A prompt that is not the caller's,
or does not exist, is reported as not found and the others are still done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from composite.db import Cursor, Database, unchanged
from composite.db.batches import BatchesInterrupted, write_in_batches
from composite.library.accounts import User
from composite.library.errors import DomainError, Invalid
from composite.library.prompts import (
    CONTENT_FIELDS,
    NewPrompt,
    Prompt,
    apply_edits,
    delete_prompts,
    rows_by_id,
    weigh,
)
from composite.library.rules import check_tags

log = logging.getLogger("composite.library.bulk")

# Prompts per request: a thousand is many pages of one's own listing, and a request that
# names more is refused whole rather than half done.
BULK_MAX = 1_000
# The actions, each with what its notice says of the prompts it changed ({tag}: the tag).
ACTIONS = {
    "make_public": "made public",
    "make_private": "made private",
    "add_tag": "tagged “{tag}”",
    "remove_tag": "no longer tagged “{tag}”",
    "delete": "deleted",
}
TAG_ACTIONS = frozenset({"add_tag", "remove_tag"})
OUTCOMES = ("changed", "unchanged", "deleted", "not_found", "refused")
# Each batch aims to hold the write lock this long in CPU time, well under the 0.1 s bound the
# design keeps (composite/db HOLD_BOUNDS); the first is small, in case the prompts are large.
BATCH_SECONDS = 0.04
FIRST_BATCH = 25


class BulkInterrupted(DomainError):
    """The action stopped part way: what was done stays, and sending it again finishes it."""

    status = 503


@dataclass(frozen=True)
class BulkItem:
    """What became of one prompt named: changed, unchanged, deleted, not_found or refused (with why)."""

    id: int
    outcome: str
    reason: str | None = None


@dataclass(frozen=True)
class BulkResult:
    """How a bulk action went, prompt by prompt, in the order the ids were given (each once)."""

    action: str
    tag: str | None
    items: tuple[BulkItem, ...]

    def count(self, outcome: str) -> int:
        """How many prompts had this outcome."""
        return sum(item.outcome == outcome for item in self.items)

    def summary(self) -> str:
        """The result in words, as the website's notice says it: '3 prompts made public; 1 not found.'"""
        done = self.count("deleted" if self.action == "delete" else "changed")
        parts = [f"{_prompts(done)} {ACTIONS[self.action].format(tag=self.tag)}"]
        if n := self.count("unchanged"):
            parts.append(f"{n:,} unchanged")
        if n := self.count("refused"):
            reasons = sorted({item.reason for item in self.items if item.reason})
            parts.append(f"{n:,} refused ({'; '.join(reasons)})")
        if n := self.count("not_found"):
            parts.append(f"{n:,} not found")
        return "; ".join(parts) + "."


def _prompts(n: int) -> str:
    return f"{n:,} prompt{'' if n == 1 else 's'}"


def check_request(ids: Sequence[int], action: str, tag: str | None) -> tuple[list[int], str | None]:
    """The ids, each once in the order given, and the tag as stored; Invalid for a request refused whole."""
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        errors["action"] = f"must be one of {', '.join(ACTIONS)}"
    unique = list(dict.fromkeys(ids))
    if not unique:
        errors["ids"] = "choose at least one prompt"
    elif len(unique) > BULK_MAX:
        errors["ids"] = f"at most {BULK_MAX:,} prompts at once; {len(unique):,} were given"
    cleaned = None
    if action in TAG_ACTIONS:
        try:
            tags = check_tags([tag or ""]) if (tag or "").strip() else []
        except Invalid as exc:
            errors["tag"] = exc.errors["tags"]
        else:
            if not tags:
                errors["tag"] = "name the tag to add" if action == "add_tag" else "name the tag to remove"
            else:
                cleaned = tags[0]
    if errors:
        raise Invalid(errors)
    return unique, cleaned


def bulk_action(
    db: Database, user: User, ids: Sequence[int], action: str, tag: str | None = None
) -> BulkResult:
    """Apply one action to the user's prompts among ``ids``; the others are reported, not touched."""
    unique, tag = check_request(ids, action, tag)

    def weighed(batch: Sequence[int]) -> dict[tuple[int, int], NewPrompt]:
        return _weighed(db, user, batch, action, tag)

    def write(cur: Cursor, batch: Sequence[int], weighed: dict[tuple[int, int], NewPrompt]) -> list[BulkItem]:
        return _write_batch(cur, user, batch, action, tag, weighed)

    try:
        items = write_in_batches(
            db, unique, write, prepare=weighed, aim=BATCH_SECONDS, first=FIRST_BATCH, largest=BULK_MAX
        )
    except BatchesInterrupted as exc:
        log.exception(
            "bulk %s for user %s stopped after %d of %d prompts", action, user.id, exc.written, exc.total
        )
        raise BulkInterrupted(
            f"the action stopped after {exc.written:,} of {exc.total:,} prompts; send it again to finish"
            " (what is done already is reported unchanged, or not found once deleted)"
        ) from None
    return BulkResult(action, tag, tuple(items))


def _weighed(
    db: Database, user: User, batch: Sequence[int], action: str, tag: str | None
) -> dict[tuple[int, int], NewPrompt]:
    """Before the write lock: the search terms of each own prompt whose tags change, by (id, version).

    Weighing is most of a tag edit's cost; done here, a batch holds the lock for its writes
    alone. A version is one content, so terms weighed for it hold while the prompt is at it.
    """
    if action not in TAG_ACTIONS:
        return {}  # a change of visibility leaves the search terms as they are
    weighed = {}
    for prompt, owner_id in rows_by_id(db.cursor(), batch).values():
        if owner_id != user.id:
            continue
        try:
            changes = _changes(prompt, action, tag)
        except Invalid:
            continue  # refused when the batch is written
        if tuple(changes["tags"]) != prompt.tags:
            merged = {field: changes.get(field, getattr(prompt, field)) for field in CONTENT_FIELDS}
            weighed[prompt.id, prompt.version] = weigh(prompt.uid, merged)
    return weighed


def _write_batch(
    cur: Cursor,
    user: User,
    batch: Sequence[int],
    action: str,
    tag: str | None,
    weighed: dict[tuple[int, int], NewPrompt],
) -> list[BulkItem]:
    """One batch inside its transaction: every prompt read in one go, written set-wise."""
    rows = rows_by_id(cur, batch)
    mine = [rows[i][0] for i in batch if i in rows and rows[i][1] == user.id]
    found = {prompt.id for prompt in mine}
    outcomes = {i: BulkItem(i, "not_found") for i in batch if i not in found}
    if action == "delete":
        delete_prompts(cur, [prompt.id for prompt in mine])
        outcomes |= {prompt.id: BulkItem(prompt.id, "deleted") for prompt in mine}
    else:
        edits: list[tuple[Prompt, dict[str, Any], NewPrompt | None]] = []
        for prompt in mine:
            try:
                # Terms weighed for another version (edited since) are left for apply_edits to weigh.
                edits.append(
                    (prompt, _changes(prompt, action, tag), weighed.get((prompt.id, prompt.version)))
                )
            except Invalid as exc:  # past a rule for this prompt alone: the others go ahead
                outcomes[prompt.id] = BulkItem(prompt.id, "refused", "; ".join(exc.errors.values()))
        written = apply_edits(cur, edits)
        outcomes |= {
            prompt.id: BulkItem(prompt.id, "unchanged" if did is None else "changed")
            for (prompt, _, _), did in zip(edits, written, strict=True)
        }
    if not any(item.outcome in ("changed", "deleted") for item in outcomes.values()):
        unchanged(cur)  # nothing any reader sees has moved: keep every cache
    return [outcomes[i] for i in batch]


def _changes(prompt: Prompt, action: str, tag: str | None) -> dict[str, Any]:
    """The edit this action makes to one prompt, checked by the rules a single edit is checked by."""
    if action == "make_public":
        return {"visibility": "public"}
    if action == "make_private":
        return {"visibility": "private"}
    if action == "add_tag":
        # The prompt's tags with one more, under the per-prompt bound (rules.TAGS_MAX).
        return {"tags": check_tags([*prompt.tags, tag]) if tag not in prompt.tags else list(prompt.tags)}
    assert action == "remove_tag"
    return {"tags": [t for t in prompt.tags if t != tag]}
