"""A user's starred prompts: paged, latest star first, never a prompt they may no longer see."""

from __future__ import annotations

import threading

import pytest

from composite.db import Database
from composite.library import prompts, stars
from composite.library.errors import Invalid, NotFound


def test_starred_prompts_latest_star_first_in_pages(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    made = [prompts.create_prompt(db, alice, visibility="public", title=f"P{i}", body="B") for i in range(5)]
    for prompt in (made[3], made[0], made[4], made[1]):
        stars.star(db, prompt.id, bob)
    page = stars.starred_prompts(db, bob, limit=3)
    assert ([p.title for p in page.items], page.total) == (["P1", "P4", "P0"], 4)
    assert [p.title for p in stars.starred_prompts(db, bob, limit=3, offset=3).items] == ["P3"]
    assert stars.starred_prompts(db, bob, limit=3, offset=30).items == ()
    assert stars.starred_prompts(db, alice).total == 0
    stars.unstar(db, made[1].id, bob)
    assert [p.title for p in stars.starred_prompts(db, bob).items] == ["P4", "P0", "P3"]


def test_a_starred_prompt_made_private_is_left_out(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    shared = prompts.create_prompt(db, alice, visibility="public", title="Shared", body="B")
    hidden = prompts.create_prompt(db, alice, visibility="public", title="Hidden later", body="B")
    mine = prompts.create_prompt(db, bob, title="Mine", body="B", visibility="private")
    for prompt in (shared, hidden, mine):
        stars.star(db, prompt.id, bob)
    prompts.update_prompt(db, hidden.id, alice, visibility="private")
    page = stars.starred_prompts(db, bob)
    assert ([p.title for p in page.items], page.total) == (["Mine", "Shared"], 2)
    # The owner starred it too: it is still theirs to see.
    stars.star(db, hidden.id, alice)
    assert [p.title for p in stars.starred_prompts(db, alice).items] == ["Hidden later"]


@pytest.mark.parametrize(
    ("limit", "offset", "field"), [(0, 0, "limit"), (101, 0, "limit"), (1, -1, "offset")]
)
def test_bad_paging_is_refused(db: Database, make_user, limit: int, offset: int, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        stars.starred_prompts(db, make_user("alice"), limit=limit, offset=offset)
    assert field in refused.value.errors


def test_concurrent_stars_share_transactions_and_every_count_is_exact(db: Database, make_user) -> None:
    owner = make_user("owner")
    fans = [make_user(f"fan{n}") for n in range(16)]
    shown = prompts.create_prompt(db, owner, visibility="public", title="Shown", body="B")
    hidden = prompts.create_prompt(db, owner, visibility="private", title="Hidden", body="B")
    refused: list[int] = []

    def press(fan_index: int) -> None:
        fan = fans[fan_index]
        for round_ in range(20):
            stars.star(db, shown.id, fan)
            if round_ % 2 == 0:  # the last round, 19, leaves the star on
                stars.unstar(db, shown.id, fan)
            try:  # a star on a prompt the fan cannot see fails alone, beside the others in its batch
                stars.star(db, hidden.id, fan)
            except NotFound:
                refused.append(fan_index)

    threads = [threading.Thread(target=press, args=(n,)) for n in range(len(fans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(refused) == 16 * 20
    assert prompts.get_prompt(db, shown.id).stars == 16  # each fan's last press was a star
    assert db.fetchone("SELECT count(*) FROM stars WHERE prompt_id = ?", [shown.id]) == (16,)
    assert prompts.get_prompt(db, hidden.id, owner.id).stars == 0
    group = db.group_commit(stars._write_stars)
    assert group.items == 16 * 20 * 3 - 16 * 10
    assert group.batches < group.items  # they did share transactions
