"""Reuse on the website: copy a prompt to one's library, the Starred page, a star that survives login."""

from __future__ import annotations

import html
import re

import pytest

from composite.db import Database
from tests.library.frontend.conftest import PASSWORD, AuthActions, NewBrowser


def stars_of(db: Database, prompt_id: int) -> int:
    """The star count stored on a prompt."""
    row = db.fetchone("SELECT stars FROM prompts WHERE id = ?", [prompt_id])
    assert row is not None
    return int(row[0])


def prompt_ids(page: str) -> list[int]:
    """The prompts a listing links to, in order."""
    return [int(i) for i in re.findall(r'class="card-title">\s*<a href="/prompts/(\d+)"', page)]


def test_copy_to_my_library_makes_a_private_fork_linked_to_its_source(
    alice: AuthActions, bob: AuthActions
) -> None:
    source = alice.create_prompt(title="Cover letter", body="Write a cover letter for ${role:a developer}.")
    page = bob.client.get(f"/prompts/{source}").text
    assert f'action="/prompts/{source}/fork"' in page
    assert "Copy to my library" in page
    assert "0 forks" in page
    response = bob.post(f"/prompts/{source}/fork")
    assert response.status_code == 302
    fork = int(response.location.rsplit("/", 1)[1])
    assert fork != source
    page = bob.client.get(f"/prompts/{fork}").text
    assert "<h1>Cover letter" in page
    assert '<span class="badge">Private</span>' in page
    assert re.search(
        rf'Forked from <a href="/prompts/{source}">Cover letter</a>\s*by <a href="/users/alice">', page
    )
    assert f'href="/prompts/{fork}/edit"' in page  # bob's own now
    assert alice.client.get(f"/prompts/{fork}").status_code == 404  # private to bob
    # So it is counted for no one, bob included, until he publishes it.
    for viewer in (alice, bob):
        assert "0 forks<" in viewer.client.get(f"/prompts/{source}").text
    bob.edit_prompt(fork, visibility="public")
    assert "1 fork<" in alice.client.get(f"/prompts/{source}").text


def test_copying_needs_csrf_and_a_prompt_one_may_see(
    alice: AuthActions, bob: AuthActions, db: Database
) -> None:
    hidden = alice.create_prompt(title="Hidden", visibility="private")
    shown = alice.create_prompt(title="Shown")
    assert bob.post(f"/prompts/{hidden}/fork").status_code == 404
    assert bob.client.post(f"/prompts/{shown}/fork", data={"csrf_token": "forged"}).status_code == 400
    assert bob.client.post(f"/prompts/{shown}/fork").status_code == 400
    assert db.fetchone("SELECT count(*) FROM prompts") == (2,)


def test_the_forked_from_line_hides_once_the_source_is_private(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser
) -> None:
    source = alice.create_prompt(title="Original idea")
    fork = int(bob.post(f"/prompts/{source}/fork").location.rsplit("/", 1)[1])
    bob.edit_prompt(fork, visibility="public")
    alice.edit_prompt(source, visibility="private")
    for viewer in (bob, new_browser()):
        page = viewer.client.get(f"/prompts/{fork}").text
        assert "Forked from" not in page
        assert f"/prompts/{source}" not in page
    # The fork keeps the source's title as its own: that was copied, the link is what hides.
    assert "Forked from" in alice.client.get(f"/prompts/{fork}").text


def test_visitors_copy_and_star_by_logging_in(
    alice: AuthActions, new_browser: NewBrowser, db: Database
) -> None:
    prompt_id = alice.create_prompt(title="Open to all")
    alice.logout()
    visitor = new_browser()
    visitor.register("carol")
    visitor.logout()
    page = visitor.client.get(f"/prompts/{prompt_id}").text
    star_link = f'href="/login?next=/prompts/{prompt_id}&amp;then=star:{prompt_id}"'
    fork_link = f'href="/login?next=/prompts/{prompt_id}&amp;then=fork:{prompt_id}"'
    assert star_link in page
    assert fork_link in page
    # Following the link changes nothing: the form says what logging in will do.
    login = visitor.client.get(html.unescape(star_link[6:-1]))
    assert stars_of(db, prompt_id) == 0
    assert "Log in to star the prompt." in login.text
    assert f'name="then" value="star:{prompt_id}"' in login.text
    assert f"/register?next=/prompts/{prompt_id}&amp;then=star:{prompt_id}" in login.text
    response = visitor.post(
        "/login",
        {
            "username": "carol",
            "password": PASSWORD,
            "next": f"/prompts/{prompt_id}",
            "then": f"star:{prompt_id}",
        },
    )
    assert (response.status_code, response.location) == (302, f"/prompts/{prompt_id}")
    assert stars_of(db, prompt_id) == 1
    assert "★ Starred" in visitor.client.get(f"/prompts/{prompt_id}").text
    visitor.logout()
    # A copy asked for while logged out is made at login, and the copy is shown.
    response = visitor.post(
        "/login", {"username": "carol", "password": PASSWORD, "then": f"fork:{prompt_id}"}
    )
    fork = int(response.location.rsplit("/", 1)[1])
    assert fork != prompt_id
    assert "Forked from" in visitor.client.get(f"/prompts/{fork}").text


def test_a_star_asked_for_before_registering_is_applied(
    alice: AuthActions, new_browser: NewBrowser, db: Database
) -> None:
    prompt_id = alice.create_prompt()
    visitor = new_browser()
    form = visitor.client.get(f"/register?next=/prompts/{prompt_id}&then=star:{prompt_id}").text
    assert "Create an account to star the prompt." in form
    assert f"/login?next=/prompts/{prompt_id}&amp;then=star:{prompt_id}" in form
    response = visitor.post(
        "/register",
        {"username": "dave", "password": PASSWORD, "confirm": PASSWORD, "then": f"star:{prompt_id}"},
    )
    assert (response.status_code, response.location) == (302, f"/prompts/{prompt_id}")
    assert stars_of(db, prompt_id) == 1


@pytest.mark.parametrize(
    "then",
    [
        "star:abc",
        "star:0",
        "star:1234567890",
        "https://evil.example/",
        "star:1;fork:1",
        "delete:1",
        " star:1",
    ],
)
def test_a_then_that_is_not_an_action_on_a_prompt_is_ignored(
    alice: AuthActions, new_browser: NewBrowser, db: Database, then: str
) -> None:
    prompt_id = alice.create_prompt()
    assert prompt_id == 1
    visitor = new_browser()
    visitor.register("erin")
    visitor.logout()
    form = visitor.client.get("/login", query_string={"then": then}).text
    assert 'name="then" value=""' in form
    assert "Log in to" not in form
    response = visitor.post("/login", {"username": "erin", "password": PASSWORD, "then": then})
    assert (response.status_code, response.location) == (302, "/")
    assert stars_of(db, prompt_id) == 0
    assert db.fetchone("SELECT count(*) FROM prompts") == (1,)


def test_an_action_on_a_prompt_one_may_not_see_is_dropped_and_login_still_works(
    alice: AuthActions, new_browser: NewBrowser, db: Database
) -> None:
    hidden = alice.create_prompt(visibility="private")
    visitor = new_browser()
    visitor.register("frank")
    visitor.logout()
    for action in ("star", "fork"):
        response = visitor.post(
            "/login",
            {"username": "frank", "password": PASSWORD, "next": "/tags", "then": f"{action}:{hidden}"},
        )
        assert (response.status_code, response.location) == (302, "/tags")
        visitor.logout()
    assert stars_of(db, hidden) == 0
    assert db.fetchone("SELECT count(*) FROM prompts") == (1,)
    # A wrong password keeps the pending action in the form, and does not do it.
    page = visitor.post(
        "/login", {"username": "frank", "password": "wrong-password", "then": f"star:{hidden}"}
    )
    assert page.status_code == 422
    assert f'name="then" value="star:{hidden}"' in page.text


def test_the_starred_page_lists_ones_stars_in_pages(
    alice: AuthActions, bob: AuthActions, new_browser: NewBrowser
) -> None:
    made = [alice.create_prompt(title=f"Prompt {i}") for i in range(23)]
    for prompt_id in made:
        bob.post(f"/prompts/{prompt_id}/star")
    alice.edit_prompt(made[-1], visibility="private")  # starred, then hidden from bob
    assert 'href="/starred"' in bob.client.get("/").text
    first = bob.client.get("/starred")
    assert first.status_code == 200
    assert "<h1>Starred</h1>" in first.text
    assert prompt_ids(first.text) == made[-2::-1][:20]
    assert "Page 1 of 2" in first.text
    second = bob.client.get("/starred?page=2").text
    assert prompt_ids(second) == made[1::-1]
    assert prompt_ids(bob.client.get("/starred?page=999999").text) == []
    assert "No starred prompts yet" in alice.client.get("/starred").text
    visitor = new_browser().client.get("/starred")
    assert (visitor.status_code, visitor.location) == (302, "/login?next=/starred")
