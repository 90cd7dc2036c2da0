"""The account page: API tokens shown once, export and import."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from composite.config import Settings
from composite.db import Database
from composite.library import credentials
from composite.library.backend import create_backend
from composite.library.frontend import create_frontend
from composite.library.ratelimit import RateLimiter
from tests.library.frontend.conftest import PASSWORD, AuthActions, NewBrowser, field_error, field_value


def test_account_page_is_for_members(alice: AuthActions, new_browser: NewBrowser) -> None:
    page = alice.client.get("/account")
    assert page.status_code == 200
    assert "API tokens" in page.text
    assert "No tokens yet." in page.text
    visitor = new_browser().client.get("/account")
    assert visitor.status_code == 302
    assert visitor.location == "/login?next=/account"


def test_a_new_token_is_shown_once_and_works(alice: AuthActions, db: Database) -> None:
    page = alice.post("/account/tokens", {"name": "laptop script"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token" class="secret" type="text" readonly value="([^"]+)"', page.text)
    assert secret
    user = credentials.user_for_token(db, secret.group(1))
    assert user is not None
    assert user.username == "alice"
    again = alice.client.get("/account").text
    assert secret.group(1) not in again
    assert "laptop script" in again
    assert secret.group(1)[:10] in again  # the prefix tells tokens apart


def test_a_bad_token_name_is_shown_next_to_the_field(alice: AuthActions) -> None:
    page = alice.post("/account/tokens", {"name": "n" * 65})
    assert page.status_code == 422
    assert "at most 64" in (field_error(page.text, "name") or "")
    assert field_value(page.text, "name") == "n" * 65
    assert 'id="new-token"' not in page.text


def test_revoke_a_token(alice: AuthActions, bob: AuthActions, db: Database) -> None:
    page = alice.post("/account/tokens", {"name": "old"}).text
    secret = re.search(r'id="new-token" class="secret" type="text" readonly value="([^"]+)"', page)
    assert secret
    token_id = credentials.list_tokens(db, credentials.user_for_token(db, secret.group(1)).id)[0].id
    assert bob.post(f"/account/tokens/{token_id}/revoke").status_code == 404
    assert credentials.user_for_token(db, secret.group(1)) is not None
    response = alice.post(f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302
    assert credentials.user_for_token(db, secret.group(1)) is None
    assert "No tokens yet." in alice.client.get("/account").text


def test_export_downloads_every_prompt_of_the_user(alice: AuthActions, bob: AuthActions) -> None:
    alice.create_prompt(title="Open")
    alice.create_prompt(title="Closed", visibility="private")
    bob.create_prompt(title="Bob's")
    response = alice.client.get("/account/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="prompts-alice-')
    document = json.loads(response.data)
    assert document["owner"] == "alice"
    assert sorted(p["title"] for p in document["prompts"]) == ["Closed", "Open"]


def test_import_merges_instead_of_duplicating(alice: AuthActions, bob: AuthActions) -> None:
    alice.create_prompt(title="Travelling", body="Plan a trip to {{place}}")
    exported = alice.client.get("/account/export").data

    def upload(browser: AuthActions, data: bytes) -> str:
        files = {"file": (io.BytesIO(data), "prompts.json")}
        response = browser.post("/account/import", files, content_type="multipart/form-data")
        assert response.status_code == 200, response.text
        return response.text

    assert "0 new, 0 updated, 1 already up to date" in upload(alice, exported)
    changed = json.loads(exported)
    changed["prompts"][0]["body"] = "Plan a week in {{place}}"
    assert "0 new, 1 updated, 0 already up to date" in upload(alice, json.dumps(changed).encode())
    assert "1 new, 0 updated, 0 already up to date" in upload(bob, exported)
    assert "Travelling" in bob.client.get("/users/bob").text


def test_import_errors_are_shown_next_to_the_file_field(alice: AuthActions) -> None:
    cases = {
        b"not json at all": "this file is not JSON",
        b"\xff\xfe garbage": "this file is not JSON",
        b"[" * 100_000: "not a prompt export",
        b'{"format": "allucanget-prompts", "prompts": [{"title": "\xff"}]}': "this file is not UTF-8 text",
        b'{"format": "allucanget-prompts", "prompts": {}}': "prompts: must be a list",
        b'{"format": "something-else"}': "not a prompt export",
    }
    for data, message in cases.items():
        files = {"file": (io.BytesIO(data), "prompts.json")}
        page = alice.post("/account/import", files, content_type="multipart/form-data")
        assert page.status_code == 422
        assert message in page.text
        assert 'id="f-file-error"' in page.text
    missing = alice.post("/account/import", {}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert "choose an exported .json file or a .csv file" in missing.text


def test_token_creation_shares_one_budget_per_address_with_the_api(settings: Settings, db: Database) -> None:
    limited = dataclasses.replace(settings, token_rate="3/hour")
    limiter = RateLimiter()
    site = create_frontend(limited, db, limiter)
    site.config["TESTING"] = True
    browser = AuthActions(site.test_client())
    browser.register("alice")
    with TestClient(create_backend(limited, db, limiter), client=("127.0.0.1", 50000)) as api:
        assert api.post("/api/tokens", json={"username": "alice", "password": PASSWORD}).status_code == 201
        for _ in range(2):
            assert browser.post("/account/tokens", {"name": "web"}).status_code == 200
        refused = browser.post("/account/tokens", {"name": "web"})
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "token requests" in refused.text
        assert api.post("/api/tokens", json={"username": "alice", "password": PASSWORD}).status_code == 429


def test_the_website_import_refuses_repeated_tags_as_the_api_does(alice: AuthActions) -> None:
    document = {"format": "allucanget-prompts", "prompts": [{"title": "t", "body": "b", "tags": ["a"] * 11}]}
    files = {"file": (io.BytesIO(json.dumps(document).encode()), "prompts.json")}
    page = alice.post("/account/import", files, content_type="multipart/form-data")
    assert page.status_code == 200
    assert "0 new, 0 updated, 0 already up to date, 1 not imported" in page.text
    assert "Prompt 1 (“t”): tags: at most 10 tags" in page.text  # named by its title


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(1, "1 second"), (40, "40 seconds"), (60, "1 minute"), (3419, "57 minutes"), (7200, "2 hours")],
)
def test_a_wait_is_said_in_the_unit_a_reader_takes_in(seconds: int, said: str) -> None:
    from composite.library.frontend.app import wait_in_words

    assert wait_in_words(seconds) == said


def test_the_upload_form_can_publish_the_new_prompts(alice: AuthActions) -> None:
    csv_file = (io.BytesIO(b"title,body,notes\nFor all,Shared text,mine\n"), "prompts.csv")
    files = {"file": csv_file, "visibility": "public"}
    page = alice.post("/account/import", files, content_type="multipart/form-data")
    assert "1 new" in page.text
    assert "These columns were not read: notes." in page.text
    anonymous = alice.client.application.test_client()  # a visitor with no session finds it
    assert "For all" in anonymous.get("/search?q=shared").text
