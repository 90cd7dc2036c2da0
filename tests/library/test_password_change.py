"""People change their own password, on the account page and through the API, on the real process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import register
from tests.support.process import ServerProcess
from tests.support.web import CSRF, Browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process."""
    server = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"}).start()
    yield server
    server.stop()


def _token(server: ServerProcess, password: str) -> str:
    response = httpx.post(f"{server.backend}/api/tokens", json={"username": "changer", "password": password})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def _works(server: ServerProcess, token: str) -> bool:
    return (
        httpx.get(f"{server.backend}/api/tokens", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def _log_in(server: ServerProcess, password: str) -> Browser:
    browser = Browser(server)
    assert browser.post("/login", {"username": "changer", "password": password}).status_code == 302
    return browser


def _change_on_page(browser: Browser, current: str, new: str, confirm: str | None = None) -> httpx.Response:
    page = browser.client.get("/account")
    token = CSRF.search(page.text)
    assert token, page.text[:300]
    form = {"current_password": current, "new_password": new, "confirm": new if confirm is None else confirm}
    return browser.client.post("/account/password", data={"csrf_token": token.group(1), **form})


def test_account_page_change_keeps_this_session_and_ends_every_other_one(live: ServerProcess) -> None:
    api_token = register(live, "changer", "old-password")
    with _log_in(live, "old-password") as here, _log_in(live, "old-password") as elsewhere:
        wrong = _change_on_page(here, "not-it-at-all", "new-password")
        assert wrong.status_code == 422
        assert "is not your current password" in wrong.text
        mismatch = _change_on_page(here, "old-password", "new-password", confirm="other-password")
        assert mismatch.status_code == 422
        assert _works(live, api_token)  # nothing changed yet

        done = _change_on_page(here, "old-password", "new-password")
        assert done.status_code == 200
        assert "Your password is changed" in done.text
        assert here.client.get("/account").status_code == 200
        assert elsewhere.client.get("/account").status_code == 302  # sent to the login page
    assert not _works(live, api_token)
    assert (
        httpx.post(
            f"{live.backend}/api/tokens", json={"username": "changer", "password": "old-password"}
        ).status_code
        == 401
    )
    _token(live, "new-password")


def test_api_change_keeps_the_calling_token_and_ends_the_others(live: ServerProcess) -> None:
    register(live, "changer", "old-password")
    caller, other = _token(live, "old-password"), _token(live, "old-password")
    with _log_in(live, "old-password") as browser:
        url = f"{live.backend}/api/password"
        auth = {"Authorization": f"Bearer {caller}"}
        wrong = httpx.put(
            url, headers=auth, json={"current_password": "nope-nope", "new_password": "new-password"}
        )
        assert wrong.status_code == 422
        assert wrong.json()["detail"][0]["loc"] == ["body", "current_password"]
        short = httpx.put(url, headers=auth, json={"current_password": "old-password", "new_password": "x"})
        assert short.status_code == 422
        anonymous = httpx.put(url, json={"current_password": "old-password", "new_password": "new-password"})
        assert anonymous.status_code == 401

        done = httpx.put(
            url, headers=auth, json={"current_password": "old-password", "new_password": "new-password"}
        )
        assert done.status_code == 204
        assert _works(live, caller)
        assert not _works(live, other)
        assert browser.client.get("/account").status_code == 302
    _token(live, "new-password")
