"""Import progress kept by the process: per user and key, bounded, moved by the import itself."""

from __future__ import annotations

import io

from composite.db import Database
from composite.library import transfer
from composite.library.import_progress import MAX_TRACKED, Tracker
from tests.support import corpus


def test_an_import_with_a_key_reports_its_total_and_ends_done(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    items = [*corpus.prompts(40, seed=2), {"title": "", "body": "refused"}]
    transfer.import_file(
        db, alice, io.BytesIO(corpus.export_bytes(items)), "json", progress_key="key-of-alice"
    )
    progress = transfer.import_progress(db, alice, "key-of-alice")
    assert progress is not None
    assert progress.as_dict() == {"stage": "done", "done": 41, "total": 41}
    assert transfer.import_progress(db, bob, "key-of-alice") is None


def test_keys_are_checked_and_the_table_is_bounded() -> None:
    tracker = Tracker()
    tracker.start(1, "short")  # under 8 characters: not kept
    tracker.start(1, "no spaces allowed")
    assert tracker.get(1, "short") is None
    assert tracker.get(1, "no spaces allowed") is None
    for n in range(MAX_TRACKED + 10):
        tracker.start(1, f"key-{n:08}")
    assert tracker.get(1, "key-00000000") is None  # the oldest went first
    assert tracker.get(1, f"key-{MAX_TRACKED + 9:08}") is not None
    assert len(tracker._entries) == MAX_TRACKED
