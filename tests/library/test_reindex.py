"""The index rebuilt at start: the same rows as indexing prompt by prompt, in workers or not.

Workers only for a large library, and none left once the rebuild returns.
"""

from __future__ import annotations

import logging
import os
import random
import resource
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from composite.db import Database
from composite.library import prompts, reindex, search
from composite.library.accounts import create_user
from composite.library.migrations import MIGRATIONS_DIR
from tests.support.process import ServerProcess, children

# Surface words sharing stems (the dictionary keeps the shortest, the first of equals),
# programming names, compounds, accents and CJK: each path of the tokeniser.
WORDS = (
    "translate translation translations translating translator code coding codes coder review reviews"
    " reviewing c++ c# node.js .net e-mail email mail café Cafe naïve 翻译 翻译成中文 日本語 the and of a"
    " sql query queries haiku poem poetry kubernetes write writing written run running ran"
).split()


Snapshot = dict[str, list[tuple[object, ...]]]


def snapshot(db: Database) -> Snapshot:
    """Every index row; the dictionary without its versions, which count writes, not content."""
    return {
        "postings": db.fetchall("SELECT prompt_id, term, tf, doc_len, head FROM search_terms ORDER BY ALL"),
        "vocab": db.fetchall("SELECT term, word, df FROM search_vocab ORDER BY ALL"),
        "lengths": db.fetchall("SELECT id, search_len FROM prompts ORDER BY id"),
    }


def index_one_by_one(db: Database) -> None:
    """The index written afresh by search.index_prompt, one prompt at a time in id order."""
    with db.transaction() as cur:
        for table in ("search_terms", "search_vocab", "search_changes"):
            cur.execute(f"DELETE FROM {table}")
        cur.execute("UPDATE prompts SET search_len = 0")
        rows = cur.execute("SELECT id, title, description, body, tags FROM prompts ORDER BY id").fetchall()
        for prompt_id, title, description, body, tags in rows:
            search.index_prompt(cur, prompt_id, title, description, body, tags)


def rebuild(db: Database, **options: int) -> int:
    """Mark the index as another tokeniser's, as an upgrade does, and catch up."""
    db.write(lambda cur: cur.execute("UPDATE search_state SET tokeniser = 'older'"))
    return reindex.catch_up(db, **options)


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, Snapshot]]:
    """A few hundred varied prompts, some deleted (ids with gaps) and some edited, and their index.

    Built once for the module: every test rebuilds the whole index and compares it with the
    one written prompt by prompt.
    """
    db = Database(tmp_path_factory.mktemp("reindex") / "library.db").open()
    db.migrate(MIGRATIONS_DIR)
    rng = random.Random(13)
    owners = [create_user(db, "alice", "password123"), create_user(db, "bobby", "password123")]

    def text(n: int) -> str:
        # Rare words too: terms found in one batch only, or in none of the later ones.
        return " ".join(
            rng.choice(WORDS) if rng.random() < 0.9 else f"rare{rng.randint(1, 400)}" for _ in range(n)
        )

    made = []
    for i in range(240):
        made.append(
            prompts.create_prompt(
                db,
                owners[i % 2],
                title=text(rng.randint(1, 6)),
                description=text(rng.randint(0, 12)),
                body=text(rng.randint(1, 80)),
                tags=sorted({w.strip("+#.") for w in rng.sample(WORDS, 3) if w.isascii() and w.isalpha()}),
                visibility=rng.choice(["public", "public", "private"]),
            )
        )
    for i, prompt in enumerate(made):
        if i % 7 == 0:
            prompts.delete_prompt(db, prompt.id, owners[i % 2])
        elif i % 11 == 3:
            prompts.update_prompt(db, prompt.id, owners[i % 2], body=text(30))
    index_one_by_one(db)
    yield db, snapshot(db)
    db.close()


def test_parallel_rebuild_writes_what_indexing_prompt_by_prompt_writes_and_leaves_no_process(
    library: tuple[Database, Snapshot], caplog: pytest.LogCaptureFixture
) -> None:
    db, expected = library
    assert len(expected["postings"]) > 3_000
    assert len(expected["vocab"]) > 300
    (kept,) = db.fetchone("SELECT count(*) FROM prompts") or (0,)
    before = children(os.getpid())
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Small batches: many in flight at once, each dictionary word merged across batches; no
    # threshold, so a library this small is tokenised in workers all the same.
    with caplog.at_level(logging.INFO, logger="composite.library.reindex"):
        assert rebuild(db, workers=2, batch=16, in_process_below=0) == kept
    assert f"tokenising {kept} prompts in 2 worker processes" in caplog.text
    # The text was tokenised in worker processes, which have exited and been waited for:
    # their CPU time is counted, and no process of theirs (nor a helper) is left.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime > usage.ru_utime
    assert children(os.getpid()) == before
    assert snapshot(db) == expected
    assert db.fetchone("SELECT tokeniser FROM search_state") == (search.TOKENISER,)
    assert db.fetchone("SELECT DISTINCT version FROM search_vocab") == (1,)
    assert reindex.catch_up(db) == 0  # rebuilt once; the next start has nothing to do


def test_rebuild_in_this_process_writes_the_same_rows(library: tuple[Database, Snapshot]) -> None:
    db, expected = library
    rebuild(db, workers=0, batch=50, in_process_below=0)
    assert snapshot(db) == expected


def test_a_small_library_rebuilds_in_this_process_and_starts_no_process(
    library: tuple[Database, Snapshot], caplog: pytest.LogCaptureFixture
) -> None:
    db, expected = library
    before = children(os.getpid())
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        # Any process this one starts during the rebuild is its child for some milliseconds at least.
        while not done.is_set():
            seen.update(children(os.getpid()).keys() - before.keys())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with caplog.at_level(logging.INFO, logger="composite.library.reindex"):
            rebuild(db, workers=4, batch=16)  # four workers allowed, but under IN_PROCESS_BELOW prompts
    finally:
        done.set()
        watcher.join()
    assert not seen
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime == usage.ru_utime  # none ran and exited
    assert children(os.getpid()) == before
    assert "worker processes" not in caplog.text
    assert snapshot(db) == expected


def test_workers_only_for_a_large_library() -> None:
    assert reindex.IN_PROCESS_BELOW == 20_000  # the "under 20,000 prompts"
    assert reindex.worker_count(0, 8) == 0
    assert reindex.worker_count(19_999, 8) == 0
    assert reindex.worker_count(20_000, 8) == 8
    assert reindex.worker_count(20_000, 1) == 0  # one worker is no faster than this process
    assert reindex.worker_count(3_000, 8, batch=1_000, in_process_below=0) == 3  # one per batch at most
    cores = min(len(os.sched_getaffinity(0)), reindex.MAX_WORKERS)
    assert reindex.worker_count(1_000_000) == (cores if cores > 1 else 0)  # by default one per core


@pytest.mark.parametrize("python", ["missing", "false"])
def test_rebuild_falls_back_to_this_process_when_workers_cannot_start_or_die(
    library: tuple[Database, Snapshot],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    python: str,
) -> None:
    db, expected = library
    # An interpreter that is not there cannot start; one that exits at once ends its pipes.
    executable = str(tmp_path / "no-python") if python == "missing" else shutil.which("false")
    assert executable is not None
    monkeypatch.setattr(reindex, "PYTHON", executable)
    before = children(os.getpid())
    with caplog.at_level(logging.WARNING, logger="composite.library.reindex"):
        rebuild(db, workers=2, batch=40, in_process_below=0)
    assert snapshot(db) == expected
    assert "tokenising in this process" in caplog.text
    assert children(os.getpid()) == before


def test_an_empty_library_rebuilds_at_once(db: Database) -> None:
    assert rebuild(db) == 0
    assert db.fetchone("SELECT count(*) FROM search_vocab") == (0,)
    assert db.fetchone("SELECT tokeniser FROM search_state") == (search.TOKENISER,)


def test_the_server_rebuilds_an_index_another_tokeniser_wrote_before_it_answers(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    server.database.parent.mkdir(parents=True)
    db = Database(server.database).open()
    try:
        db.migrate(MIGRATIONS_DIR)
        owner = create_user(db, "alice", "password123")
        for i in range(30):
            body = "coding c++ e-mail 翻译成中文 " * (i + 1)
            prompts.create_prompt(db, owner, title=f"Walrus {i}", body=body, visibility="public")
        expected = snapshot(db)  # create_prompt indexes each prompt as it writes it
        # As an upgrade leaves it: no postings yet, and another tokeniser's name.
        db.write(
            lambda cur: cur.execute("DELETE FROM search_terms; UPDATE search_state SET tokeniser = 'older'")
        )
    finally:
        db.close()
    server.start(timeout=120)
    try:
        found = httpx.get(f"{server.backend}/api/prompts", params={"q": "code"}, timeout=10).json()
        assert found["total"] == 30
    finally:
        server.stop()
    assert "search index rebuilt over 30 prompts" in server.log()
    db = Database(server.database).open()
    try:
        assert snapshot(db) == expected
    finally:
        db.close()
