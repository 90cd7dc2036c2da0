"""Prompts, versions, stars and placeholders through the shared domain functions."""

from __future__ import annotations

import threading

import pytest

from composite.db import Database
from composite.library import history, prompts, stars
from composite.library.errors import Forbidden, Invalid, NotFound
from composite.library.placeholders import fill, placeholders


def test_create_validates_and_normalises(db: Database, make_user) -> None:
    alice = make_user("alice")
    prompt = prompts.create_prompt(
        db,
        alice,
        title="  Tidy title  ",
        body="Body",
        tags=["Writing", "writing", "AI-2"],
        model_hint="any",
        visibility="public",
    )
    assert (prompt.title, prompt.tags, prompt.version, prompt.stars) == (
        "Tidy title",
        ("writing", "ai-2"),
        1,
        0,
    )
    assert prompt.owner == "alice"
    assert prompt.visibility == "public"


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "t" * 201, "body": "x"}, "title"),
        ({"title": "t", "body": "   "}, "body"),
        ({"title": "t", "body": "b" * 50_001}, "body"),
        ({"title": "t", "body": "x", "tags": [f"t{i}" for i in range(11)]}, "tags"),
        ({"title": "t", "body": "x", "tags": ["no spaces!"]}, "tags"),
        ({"title": "t", "body": "x", "tags": ["x" * 33]}, "tags"),
        ({"title": "t", "body": "x", "visibility": "secret"}, "visibility"),
        ({"title": "nul\x00", "body": "x"}, "title"),
    ],
)
def test_create_refuses_what_breaks_a_rule(db: Database, make_user, fields: dict, bad: str) -> None:
    with pytest.raises(Invalid) as caught:
        prompts.create_prompt(db, make_user("alice"), **fields)
    assert bad in caught.value.errors
    assert db.fetchone("SELECT count(*) FROM prompts") == (0,)


def test_limits_at_the_edges_are_accepted(db: Database, make_user) -> None:
    tags = [f"t{i}" for i in range(10)]
    prompt = prompts.create_prompt(
        db, make_user("alice"), title="t" * 200, body="b" * 50_000, tags=tags, visibility="public"
    )
    assert len(prompt.body) == 50_000
    assert prompt.tags == tuple(tags)


def test_private_prompts_are_seen_by_their_owner_alone(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    secret = prompts.create_prompt(db, alice, title="Secret", body="x", visibility="private")
    assert prompts.get_prompt(db, secret.id, alice.id).title == "Secret"
    for viewer in (None, bob.id):
        with pytest.raises(NotFound):
            prompts.get_prompt(db, secret.id, viewer)
        with pytest.raises(NotFound):
            history.list_versions(db, secret.id, viewer)
    with pytest.raises(NotFound):
        prompts.update_prompt(db, secret.id, bob, title="Mine now")
    with pytest.raises(NotFound):
        stars.star(db, secret.id, bob)


def test_only_the_owner_edits_deletes_or_restores(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    prompt = prompts.create_prompt(db, alice, title="Shared", body="x", visibility="public")
    with pytest.raises(Forbidden):
        prompts.update_prompt(db, prompt.id, bob, title="Hijacked")
    with pytest.raises(Forbidden):
        prompts.delete_prompt(db, prompt.id, bob)
    with pytest.raises(Forbidden):
        history.restore_version(db, prompt.id, 1, bob)
    assert prompts.get_prompt(db, prompt.id).title == "Shared"


def test_every_edit_keeps_the_previous_version(db: Database, make_user) -> None:
    alice = make_user("alice")
    prompt = prompts.create_prompt(db, alice, title="v1", body="line one\nline two", visibility="public")
    edited = prompts.update_prompt(db, prompt.id, alice, title="v2", body="line one\nline 2")
    assert edited.version == 2
    unchanged = prompts.update_prompt(db, prompt.id, alice, title="v2")
    assert unchanged.version == 2  # nothing changed, no new version
    versions = history.list_versions(db, prompt.id, alice.id).items
    assert [(v.version, v.title) for v in versions] == [(2, "v2"), (1, "v1")]
    diff = history.diff_versions(versions[1], versions[0])
    assert [(c.field, c.old, c.new) for c in diff.changes] == [("title", "v1", "v2")]
    assert list(diff.body.lines()) == [(" ", "line one"), ("-", "line two"), ("+", "line 2")]
    assert diff.body.exact
    restored = history.restore_version(db, prompt.id, 1, alice)
    assert (restored.version, restored.title, restored.body) == (3, "v1", "line one\nline two")
    assert history.get_version(db, prompt.id, 2).title == "v2"
    with pytest.raises(NotFound):
        history.get_version(db, prompt.id, 9)


def test_delete_removes_prompt_versions_stars_and_index(db: Database, make_user) -> None:
    alice = make_user("alice")
    prompt = prompts.create_prompt(db, alice, title="Doomed", body="words here", visibility="public")
    stars.star(db, prompt.id, alice)
    prompts.delete_prompt(db, prompt.id, alice)
    for table in ("prompts", "prompt_versions", "stars", "search_terms"):
        assert db.fetchone(f"SELECT count(*) FROM {table}") == (0,), table
    with pytest.raises(NotFound):
        prompts.get_prompt(db, prompt.id, alice.id)


def test_stars_are_idempotent_and_counted_once_per_user(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    prompt = prompts.create_prompt(db, alice, title="Star me", body="x", visibility="public")
    assert stars.star(db, prompt.id, bob) == 1
    assert stars.star(db, prompt.id, bob) == 1
    assert stars.star(db, prompt.id, alice) == 2
    assert stars.unstar(db, prompt.id, bob) == 1
    assert stars.unstar(db, prompt.id, bob) == 1
    assert stars.has_starred(db, prompt.id, alice.id)
    assert not stars.has_starred(db, prompt.id, bob.id)
    assert prompts.get_prompt(db, prompt.id).stars == 1


def test_concurrent_stars_and_edits_lose_nothing(db: Database, make_user) -> None:
    owner = make_user("owner")
    fans = [make_user(f"fan{i}") for i in range(8)]
    prompt = prompts.create_prompt(db, owner, title="Busy", body="0", visibility="public")
    errors: list[BaseException] = []

    def fan_stars(fan) -> None:
        try:
            for _ in range(5):
                stars.star(db, prompt.id, fan)
                stars.unstar(db, prompt.id, fan)
            stars.star(db, prompt.id, fan)
        except BaseException as exc:
            errors.append(exc)

    def owner_edits() -> None:
        try:
            for n in range(1, 21):
                prompts.update_prompt(db, prompt.id, owner, body=str(n))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fan_stars, args=(fan,)) for fan in fans]
    threads.append(threading.Thread(target=owner_edits))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = prompts.get_prompt(db, prompt.id)
    assert (final.stars, final.version, final.body) == (8, 21, "20")
    assert db.fetchone("SELECT count(*) FROM stars") == (8,)


def test_concurrent_creates_each_get_their_own_prompt_indexed_and_counted(db: Database, make_user) -> None:
    # Creates from many threads share transactions (group commit); each caller must still get
    # its own prompt back, with its own version, postings and dictionary counts.
    from composite.library import catalog

    authors = [make_user(f"writer{i}") for i in range(4)]
    made: dict[str, prompts.Prompt] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def write(thread: int) -> None:
        start.wait()
        for n in range(8):
            word = f"zq{thread}x{n}"
            try:
                made[word] = prompts.create_prompt(
                    db, authors[thread % 4], title=f"Shared {word}", body=f"common body {word}",
                    tags=["batch"], visibility="public" if n % 2 else "private",
                )  # fmt: skip
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(made) == 128
    assert len({p.id for p in made.values()}) == 128
    assert db.group_commit(prompts._create_batch).batches < 128  # they did share transactions
    for word, prompt in made.items():
        thread = int(word[2:].split("x")[0])
        assert (prompt.title, prompt.owner, prompt.version) == (f"Shared {word}", f"writer{thread % 4}", 1)
        found = catalog.list_prompts(
            db, db.fetchone("SELECT owner_id FROM prompts WHERE id = ?", [prompt.id])[0], q=word
        )
        assert [p.id for p in found.items] == [prompt.id]
    assert db.fetchone("SELECT count(*) FROM prompt_versions WHERE title LIKE 'Shared %'") == (128,)
    assert db.fetchone("SELECT df FROM search_vocab WHERE term = 'share'") == (128,)
    assert catalog.list_prompts(db, None, q="common").total == 64  # the private half stays hidden


def test_placeholders_are_found_and_filled() -> None:
    body = "Translate {{text}} into {{ language }}; keep {{text}} short. Not {{ 1bad }} or {x}."
    assert [p.name for p in placeholders(body)] == ["text", "language"]
    assert fill(body, {"text": "hello", "language": ""}) == (
        "Translate hello into {{ language }}; keep hello short. Not {{ 1bad }} or {x}."
    )
    assert fill("{{a}}", {"a": "{{b}}", "b": "no"}) == "{{b}}"  # values are not expanded again


def test_concurrent_edits_share_transactions_and_each_makes_its_own_version(db: Database, make_user) -> None:
    from composite.library import catalog

    owner, stranger = make_user("owner"), make_user("stranger")
    shared = prompts.create_prompt(db, owner, title="Shared", body="start", visibility="public")
    own = [
        prompts.create_prompt(db, owner, title=f"Own {n}", body="start", visibility="public")
        for n in range(8)
    ]
    returned: list[tuple[int, str, str]] = []
    refused: list[str] = []

    def edit(n: int) -> None:
        for round_ in range(10):
            body = f"edit {n} {round_} zebraword{n}x{round_}"
            got = prompts.update_prompt(db, own[n].id, owner, body=body)
            returned.append((got.id, got.body, body))
            if round_ % 2:
                prompts.update_prompt(db, shared.id, owner, title=f"Shared {n} {round_}")
            try:  # refused alone, beside the others in its batch
                prompts.update_prompt(db, shared.id, stranger, title="Taken")
            except Forbidden:
                refused.append("forbidden")

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(got == sent for _, got, sent in returned)  # each caller got its own edit back
    assert len(refused) == 80
    for n, prompt in enumerate(own):
        now = prompts.get_prompt(db, prompt.id)
        assert (now.version, now.body) == (11, f"edit {n} 9 zebraword{n}x9")
        assert sorted(history.version_numbers(db, prompt.id)) == list(range(1, 12))
        # The index follows the last edit, and no longer the ones before it.
        assert [p.id for p in catalog.list_prompts(db, None, q=f"zebraword{n}x9").items] == [prompt.id]
        assert catalog.list_prompts(db, None, q=f"zebraword{n}x3").items == ()
    assert prompts.get_prompt(db, shared.id).version == 1 + 8 * 5  # every edit its own version
    group = db.group_commit(prompts._write_edits)
    assert group.items == 8 * 10 + 8 * 5 + 80
    assert group.batches < group.items  # they did share transactions
    # The dictionary counts each term's prompts exactly, however the edits were batched.
    counted = dict(db.fetchall("SELECT term, count(*) FROM search_terms GROUP BY term"))
    recorded = dict(db.fetchall("SELECT term, df FROM search_vocab WHERE df <> 0"))
    assert recorded == counted
