"""Kept answers last until a write to what they read, and no longer: star, edit, sign-up, login, delete.

Each test records what a read function reads (as the response cache does around a request),
makes one write, and checks whether the record is still fresh: unrelated writes must leave
it so (that is the cache's whole value under a trickle of writes), related ones must not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from composite.db import Database
from composite.db.scopes import Reads
from composite.library import catalog, credentials, forks, freshness, labels, prompts, stars, useradmin
from composite.library.accounts import User, create_user
from tests.support.source import LIBRARY, functions, strings

# A statement that changes rows some reader sees.
WRITE = re.compile(
    r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+(prompts|prompt_versions|prompt_labels|stars|search_\w+"
    r"|users|tokens|sessions|login_failures)\b",
    re.IGNORECASE,
)


def recorded(db: Database, read: Callable[[], object]) -> Reads:
    """What read() read, recorded as for one answer."""
    reads, token = db.scopes.start()
    try:
        read()
    finally:
        db.scopes.stop(token)
    return reads


def new_prompts(db: Database, owner: User, count: int) -> list[int]:
    """Public prompts, newest last."""
    return [
        prompts.create_prompt(db, owner, title=f"p{n}", body=f"body {n}", visibility="public").id
        for n in range(count)
    ]


def test_a_star_drops_the_starred_prompt_and_the_star_order_only(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    x, y, *_ = new_prompts(db, alice, 30)  # x and y are the oldest: not on the newest page
    page_x = recorded(db, lambda: freshness.prompt_state(db, x, None) and prompts.get_prompt(db, x))
    page_y = recorded(db, lambda: freshness.prompt_state(db, y, None) and prompts.get_prompt(db, y))
    newest = recorded(db, lambda: catalog.list_prompts(db, None, sort="new", limit=20))
    by_stars = recorded(db, lambda: catalog.list_prompts(db, None, sort="stars", limit=20))
    for reads in (page_x, page_y, newest, by_stars):
        assert not reads.unscoped
        assert db.scopes.fresh(reads)

    stars.star(db, x, bob)
    assert not db.scopes.fresh(page_x)
    assert db.scopes.fresh(page_y)
    assert db.scopes.fresh(newest)  # x is not on it
    assert not db.scopes.fresh(by_stars)


def test_an_edit_drops_the_pages_that_show_the_prompt(db: Database, make_user) -> None:
    alice = make_user("alice")
    ids = new_prompts(db, alice, 30)
    shown, hidden = ids[-1], ids[0]
    newest = recorded(db, lambda: catalog.list_prompts(db, None, sort="new", limit=20))
    search = recorded(db, lambda: catalog.list_prompts(db, None, q="body", limit=20))
    other_page = recorded(db, lambda: prompts.get_prompt(db, hidden))
    prompts.update_prompt(db, shown, alice, title="renamed")
    assert not db.scopes.fresh(newest)
    assert not db.scopes.fresh(search)
    assert db.scopes.fresh(other_page)

    newest = recorded(db, lambda: catalog.list_prompts(db, None, sort="new", limit=20))
    prompts.update_prompt(db, hidden, alice, title="renamed too")  # not on the page
    assert db.scopes.fresh(newest)
    prompts.update_prompt(db, hidden, alice, visibility="private")  # leaves the listings
    assert not db.scopes.fresh(newest)


def test_sign_ups_logins_and_tokens_drop_no_page(db: Database, make_user) -> None:
    alice = make_user("alice")
    (x,) = new_prompts(db, alice, 1)
    page = recorded(db, lambda: prompts.get_prompt(db, x))
    listing = recorded(db, lambda: catalog.list_prompts(db, None, limit=20))
    carol = create_user(db, "carol", "password123")
    credentials.start_session(db, carol.id)
    credentials.create_token(db, carol.id)
    assert db.scopes.fresh(page)
    assert db.scopes.fresh(listing)


def test_forks_labels_deletes_and_admin_actions_drop_what_they_change(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    x, y = new_prompts(db, alice, 2)
    page_x = recorded(db, lambda: freshness.prompt_state(db, x, None))
    page_y = recorded(db, lambda: freshness.prompt_state(db, y, None))
    fork = forks.fork_prompt(db, x, bob)  # x's fork count moves
    assert not db.scopes.fresh(page_x)
    assert db.scopes.fresh(page_y)

    fork_page = recorded(db, lambda: freshness.prompt_state(db, fork.id, bob.id))
    prompts.update_prompt(db, x, alice, title="new source title")  # the fork shows it
    assert not db.scopes.fresh(fork_page)

    page_y = recorded(db, lambda: freshness.prompt_state(db, y, None))
    labels.set_label(db, y, "prod", 1, alice)
    assert not db.scopes.fresh(page_y)

    starred = recorded(db, lambda: stars.starred_prompts(db, bob))
    stars.star(db, y, bob)
    assert not db.scopes.fresh(starred)
    starred = recorded(db, lambda: stars.starred_prompts(db, bob))
    prompts.delete_prompt(db, y, alice)
    assert not db.scopes.fresh(starred)

    fork_page = recorded(db, lambda: freshness.prompt_state(db, fork.id, bob.id))
    prompts.delete_prompt(db, x, alice)  # the fork loses its link
    assert not db.scopes.fresh(fork_page)

    anything = recorded(db, lambda: catalog.list_prompts(db, None, limit=20))
    useradmin.set_disabled(db, "bob", True)
    assert not db.scopes.fresh(anything)


def test_a_read_outside_any_scope_depends_on_every_commit(db: Database, make_user) -> None:
    alice = make_user("alice")
    reads = recorded(db, lambda: db.fetchall("SELECT count(*) FROM prompts"))
    assert reads.unscoped
    new_prompts(db, alice, 1)
    assert not db.scopes.fresh(reads)


def test_a_write_that_names_no_scope_drops_everything(db: Database, make_user) -> None:
    alice = make_user("alice")
    (x,) = new_prompts(db, alice, 1)
    page = recorded(db, lambda: prompts.get_prompt(db, x))
    db.write(lambda cur: cur.execute("UPDATE prompts SET title = 'changed behind the scopes'"))
    assert not db.scopes.fresh(page)


def test_every_function_that_writes_what_readers_see_touches_a_scope() -> None:
    """A function writing such a table without touch() would leave kept answers stale."""
    silent = []
    for path, node, own in functions():
        text = " ".join(strings(own))
        writes = WRITE.search(text) or "DELETE FROM {table}" in text
        touches = any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "touch" for n in own
        )
        if writes and not touches:
            silent.append(f"{path.relative_to(LIBRARY)}:{node.lineno} {node.name}")
    assert silent == []


def test_the_counters_stay_the_same_size_however_many_scopes_are_written(db: Database) -> None:
    """One counter per prompt ever written would grow with every import for the life of the process."""
    size = len(db.scopes.counts) * db.scopes.counts.itemsize
    db.scopes.committed(f"prompt:{n}" for n in range(200_000))
    db.scopes.committed(f"starred:{n}" for n in range(50_000))
    assert len(db.scopes.counts) * db.scopes.counts.itemsize == size <= 1024 * 1024


def test_names_every_listing_reads_share_no_counter(db: Database) -> None:
    """A login (credentials) must not drop the star order, nor a prompt's write every listing."""
    from composite.db.scopes import slot
    from composite.library import scopes

    named = [scopes.LISTED, scopes.BY_STARS, scopes.SEARCH, scopes.CREDENTIALS, scopes.LOGINS]
    assert len({slot(name) for name in named}) == len(named)
    assert not {slot(name) for name in named} & {slot(scopes.prompt(n)) for n in range(100_000)}


def test_writes_that_change_nothing_drop_nothing(db: Database, make_user) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    x, y, *_ = new_prompts(db, alice, 3)
    stars.star(db, y, bob)
    page = recorded(db, lambda: freshness.prompt_state(db, x, None) and prompts.get_prompt(db, x))
    everything = db.scopes.everything
    stars.star(db, y, bob)  # already starred
    stars.unstar(db, x, alice)  # never starred
    prompts.update_prompt(db, y, alice, body="body 1")  # the text it has
    assert db.scopes.fresh(page)
    assert db.scopes.everything == everything  # not one of them emptied every cache
    stars.star(db, x, alice)
    assert not db.scopes.fresh(page)  # and a star that does change it still drops it
