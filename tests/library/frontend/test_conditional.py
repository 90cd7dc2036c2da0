"""A prompt's page carries an ETag and answers 304 to a browser whose copy is current."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from composite.config import Settings
from composite.db import Database
from composite.library.frontend import create_frontend
from composite.library.migrations import MIGRATIONS_DIR
from tests.library.frontend.conftest import AuthActions, NewBrowser


def revalidate(browser: AuthActions, url: str, tag: str) -> int:
    """The status of a GET sending ``tag`` in If-None-Match."""
    return browser.client.get(url, headers={"If-None-Match": tag}).status_code


def test_an_unchanged_page_is_304_with_no_body(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Greeter", body="Hello {{name}}")
    url = f"/prompts/{prompt_id}"
    page = alice.client.get(url)
    tag = page.headers["ETag"]
    assert tag.startswith('W/"')
    assert page.headers["Cache-Control"] == "private, no-cache"
    assert alice.client.get(url).headers["ETag"] == tag
    again = alice.client.get(url, headers={"If-None-Match": f'"older", {tag}'})
    assert (again.status_code, again.data) == (304, b"")
    assert (again.headers["ETag"], again.headers["Cache-Control"]) == (tag, "private, no-cache")


def test_the_tag_changes_with_what_the_page_shows(alice: AuthActions, bob: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Greeter", body="Hello {{name}}")
    url = f"/prompts/{prompt_id}"
    tag = alice.client.get(url).headers["ETag"]
    # Other placeholder values, another viewer: another page.
    assert alice.client.get(f"{url}?name=Ada").headers["ETag"] != tag
    assert revalidate(bob, url, tag) == 200
    alice.edit_prompt(prompt_id, title="Greeter, edited")
    assert revalidate(alice, url, tag) == 200
    tag = alice.client.get(url).headers["ETag"]
    bob.post(f"{url}/star")  # the count on alice's page
    assert revalidate(alice, url, tag) == 200
    tag = alice.client.get(url).headers["ETag"]
    alice.post(f"{url}/star")  # her own button
    assert revalidate(alice, url, tag) == 200
    tag = alice.client.get(url).headers["ETag"]
    alice.logout()  # the session: the header and forms change
    assert revalidate(alice, url, tag) == 200


def test_no_tag_on_errors_and_no_304_for_a_prompt_made_private(
    alice: AuthActions, new_browser: NewBrowser
) -> None:
    prompt_id = alice.create_prompt(title="Greeter", body="Hello {{name}}")
    url = f"/prompts/{prompt_id}"
    visitor = new_browser()
    tag = visitor.client.get(url).headers["ETag"]
    alice.edit_prompt(prompt_id, visibility="private")
    assert revalidate(visitor, url, tag) == 404
    assert revalidate(visitor, url, "*") == 404
    assert "ETag" not in visitor.client.get(url).headers
    assert "ETag" not in alice.client.get("/prompts/999").headers


def test_a_new_process_gives_new_tags(settings: Settings, db: Database, frontend_client: FlaskClient) -> None:
    browser = AuthActions(frontend_client)
    browser.register("alice")
    prompt_id = browser.create_prompt()
    tag = frontend_client.get(f"/prompts/{prompt_id}").headers["ETag"]
    restarted = create_frontend(settings, db).test_client()
    restarted.set_cookie("session", browser.session_cookie or "")
    assert restarted.get(f"/prompts/{prompt_id}", headers={"If-None-Match": tag}).status_code == 200


def test_development_sends_no_tags(settings: Settings, db: Database) -> None:
    client = create_frontend(dataclasses.replace(settings, debug=True), db).test_client()
    browser = AuthActions(client)
    browser.register("alice")
    prompt_id = browser.create_prompt()
    page = client.get(f"/prompts/{prompt_id}")
    assert page.status_code == 200
    assert "ETag" not in page.headers


class CountingDatabase(Database):
    """The real database, remembering the SQL run through fetchone (observed, nothing replaced)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetched: list[str] = []

    def fetchone(self, sql: str, params: Any = None) -> tuple[Any, ...] | None:
        """Run the query as Database does, after noting it."""
        self.fetched.append(sql)
        return super().fetchone(sql, params)


def test_the_page_reads_the_viewers_star_once(settings: Settings, tmp_path: Path) -> None:
    db = CountingDatabase(tmp_path / "counted.db").open()
    db.migrate(MIGRATIONS_DIR)
    try:
        browser = AuthActions(create_frontend(settings, db).test_client())
        browser.register("alice")
        prompt_id = browser.create_prompt()
        browser.post(f"/prompts/{prompt_id}/star")
        db.fetched.clear()
        page = browser.client.get(f"/prompts/{prompt_id}")
        assert page.status_code == 200
        assert "★ Starred" in page.text
        assert sum("FROM stars" in sql for sql in db.fetched) == 1
    finally:
        db.close()
