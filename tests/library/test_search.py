"""The search index and its ranking: BM25 as written down, kept in step with edits."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from composite.db import Database
from composite.library import catalog, prompts, reindex
from composite.library.migrations import MIGRATIONS_DIR
from composite.library.ranking import HEAD_BOOST
from composite.library.search import prompt_postings, query_terms

CORPUS = [
    ("Haiku writer", "Write a haiku about the sea.", ["poetry"], "public"),
    ("Code review", "Review this code for bugs, then review the tests.", ["code", "review"], "public"),
    ("SQL helper", "Write one SQL query; review it for performance.", ["sql", "code"], "public"),
    ("Email reply", "Reply to a customer email kindly.", ["email"], "public"),
    ("Secret code", "Private code review notes.", ["code"], "private"),
    ("Poem critic", "Review a poem, a haiku or a sonnet.", ["poetry", "review"], "public"),
]


def reference_order(rows: list[tuple[int, str, str, list[str], str]], q: str) -> list[int]:
    """BM25 (k1 1.2, b 0.75) plus the title/tag boost in plain Python over the public prompts."""
    docs = {
        pid: prompt_postings(title, "", body, tags)[:2]
        for pid, title, body, tags, vis in rows
        if vis == "public"
    }
    terms = query_terms(q)
    n = len(docs)
    # Lengths are normalised by the mean over the whole library, private prompts too.
    lengths = [prompt_postings(title, "", body, tags)[1] for _, title, body, tags, _ in rows]
    avglen = max(sum(lengths) / len(lengths), 1)
    df = {t: sum(1 for freqs, _ in docs.values() if t in freqs) for t in terms}
    ranked = []
    for pid, (freqs, length) in docs.items():
        matched = [t for t in terms if t in freqs]
        if not matched:
            continue
        score = sum(
            math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            * (
                freqs[t][0] * 2.2 / (freqs[t][0] + 1.2 * (0.25 + 0.75 * length / avglen))
                + HEAD_BOOST * freqs[t][1]
            )
            for t in matched
        )
        ranked.append((-len(matched), -score, -pid))
    return [-key[2] for key in sorted(ranked)]


def test_ranking_matches_a_reference_bm25(db: Database, make_user) -> None:
    alice = make_user("alice")
    rows = []
    for title, body, tags, visibility in CORPUS:
        made = prompts.create_prompt(db, alice, title=title, body=body, tags=tags, visibility=visibility)
        rows.append((made.id, title, body, tags, visibility))
    for q in ("review", "code review", "haiku poem", "write sql query", "customer"):
        page = catalog.list_prompts(db, None, q=q)
        expected = reference_order(rows, q)
        assert [p.id for p in page.items] == expected, q
        assert page.total == len(expected)


def test_postings_carry_their_prompts_length_through_edits(db: Database, make_user) -> None:
    alice = make_user("alice")
    made = prompts.create_prompt(db, alice, title="Short", body="one two three", visibility="public")
    prompts.update_prompt(db, made.id, alice, body="one two three four five six seven")
    rows = db.fetchall(
        "SELECT DISTINCT s.doc_len = p.search_len FROM search_terms s JOIN prompts p ON p.id = s.prompt_id"
    )
    assert rows == [(True,)]
    assert db.fetchone("SELECT count(*) FROM search_terms WHERE prompt_id = ?", [made.id]) == (8,)


def test_upgrading_an_existing_database_rebuilds_the_index_with_the_new_tokeniser(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for name in ("0001_prompt_library.sql", "0002_login_failures.sql", "0003_search_at_scale.sql"):
        shutil.copy(MIGRATIONS_DIR / name, before / name)
    database = Database(tmp_path / "old.db").open()
    try:
        database.migrate(before)
        database.write(
            lambda cur: cur.execute(
                "INSERT INTO users (id, username, username_key, password_hash) VALUES (1, 'a', 'a', 'x');"
                "INSERT INTO prompts (id, owner_id, title, body, visibility, search_len)"
                " VALUES (1, 1, 'Coding in C++', 'Send an e-mail', 'public', 7);"
                " INSERT INTO search_terms VALUES (1, 'cod', 4, 7), (1, 'c', 3, 7)"
            )
        )
        database.migrate(MIGRATIONS_DIR)
        assert reindex.catch_up(database) == 1
        assert reindex.catch_up(database) == 0  # once rebuilt, a start does nothing
        for q in ("code", "c++", "email", "mail"):
            assert [p.id for p in catalog.list_prompts(database, None, q=q).items] == [1], q
    finally:
        database.close()


def test_cached_postings_patched_after_writes_equal_a_fresh_read(db: Database, make_user) -> None:
    from composite.library import ranking

    alice = make_user("alice")
    bob = make_user("bobby")
    made = [
        prompts.create_prompt(db, alice, title=f"Walrus {i}", body="walrus tusks " * i, visibility="public")
        for i in range(1, 6)
    ]

    def hidden() -> tuple[list[int], list[int], int, float]:
        cur, snapshot = ranking.read_snapshot(db)
        try:
            found = snapshot.hidden()
        finally:
            cur.execute("COMMIT")
        return found.ids.tolist(), found.owners.tolist(), found.count, round(found.avg_len, 9)

    def both_ways(viewer: int | None) -> None:
        patched = hidden()
        ranking._caches.pop(db, None)
        assert hidden() == patched
        cached = catalog.list_prompts(db, viewer, q="walrus tusks")
        ranking._caches.pop(db, None)  # forget every cached list and ranking
        fresh = catalog.list_prompts(db, viewer, q="walrus tusks")
        assert [(p.id, p.title) for p in cached.items] == [(p.id, p.title) for p in fresh.items]
        assert cached.total == fresh.total

    catalog.list_prompts(db, None, q="walrus tusks")  # fill the caches
    steps = [
        lambda: prompts.create_prompt(db, bob, title="Tusks only", body="tusks", visibility="public"),
        lambda: prompts.update_prompt(db, made[0].id, alice, body="no longer about that"),
        lambda: prompts.update_prompt(db, made[1].id, alice, title="Renamed walrus walrus"),
        lambda: prompts.update_prompt(db, made[2].id, alice, visibility="private"),
        lambda: prompts.delete_prompt(db, made[3].id, alice),
    ]
    for step in steps:
        step()
        catalog.list_prompts(db, None, q="walrus tusks")  # the cache now patches, not rereads
        for viewer in (None, alice.id, bob.id):
            both_ways(viewer)


def test_the_worst_query_and_the_worst_body_cost_little(db: Database, make_user) -> None:
    import time

    from composite.library.highlight import excerpt, highlight

    alice = make_user("alice")
    words = [f"word{i}x" for i in range(300)]
    for i in range(60):
        prompts.create_prompt(
            db, alice, title=" ".join(words[i : i + 8]), body=" ".join(words) * 3, visibility="public"
        )
    # 12 distinct terms (the most a query keeps), each a typo that sends it to the dictionary.
    worst = " ".join(f"wrod{i}x" for i in range(40))[: catalog.MAX_QUERY_LENGTH]
    started = time.process_time()
    for _ in range(5):
        catalog.list_prompts(db, None, q=worst)
        catalog.list_prompts(db, alice.id, q=" ".join(words[:40]), sort="stars")
    assert time.process_time() - started < 10  # generous: about 0.1 s here
    body = "<b>word1x</b> " * 20_000
    started = time.process_time()
    marked = excerpt(body, {"word1x"}) + highlight(body[:500], {"word1x"})
    assert time.process_time() - started < 2
    assert "<b>" not in marked
    assert "&lt;b&gt;<mark>word1x</mark>" in marked


def test_cached_postings_behind_pruned_changes_are_read_again(db: Database, make_user, monkeypatch) -> None:
    from composite.library import ranking, search

    alice = make_user("alice")
    for i in range(3):
        prompts.create_prompt(db, alice, title=f"Narwhal {i}", body="narwhal horn", visibility="public")
    catalog.list_prompts(db, None, q="narwhal")  # cache the lists at this version
    monkeypatch.setattr(search, "CHANGES_KEPT", 2)  # remember only the last two writes
    for i in range(6):
        prompts.create_prompt(db, alice, title=f"Narwhal late {i}", body="narwhal", visibility="public")
    kept = catalog.list_prompts(db, None, q="narwhal")
    ranking._caches.pop(db, None)
    fresh = catalog.list_prompts(db, None, q="narwhal")
    assert kept.total == fresh.total == 9
    assert [p.id for p in kept.items] == [p.id for p in fresh.items]
