"""Registering, logging in and out, and the login throttle."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.library.frontend.conftest import PASSWORD, AuthActions, NewBrowser, field_error, field_value


@pytest.mark.parametrize("path", ["/register", "/login"])
def test_forms_render_for_visitors(frontend_client: FlaskClient, path: str) -> None:
    page = frontend_client.get(path)
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    assert 'name="username"' in page.text


def test_register_logs_in_and_shows_the_user_in_the_nav(auth: AuthActions) -> None:
    response = auth.register("alice")
    assert response.status_code == 302
    assert response.location == "/"
    home = auth.client.get("/").text
    assert '<a href="/users/alice" class="nav-user">alice</a>' in home
    assert "Log out" in home
    assert 'href="/register"' not in home


@pytest.mark.parametrize(
    ("username", "password", "confirm", "field", "message"),
    [
        ("ab", PASSWORD, PASSWORD, "username", "3-32 characters"),
        ("bad name!", PASSWORD, PASSWORD, "username", "3-32 characters"),
        ("carol", "short", "short", "password", "at least 8"),
        ("carol", PASSWORD, PASSWORD + "x", "confirm", "differ"),
    ],
)
def test_register_errors_are_shown_next_to_the_field_with_input_kept(
    auth: AuthActions, username: str, password: str, confirm: str, field: str, message: str
) -> None:
    page = auth.post("/register", {"username": username, "password": password, "confirm": confirm})
    assert page.status_code == 422
    assert message in (field_error(page.text, field) or "")
    assert field_value(page.text, "username") == username
    assert PASSWORD not in page.text  # passwords are never echoed back
    assert "Log out" not in page.text


def test_register_shows_every_problem_at_once(auth: AuthActions) -> None:
    page = auth.post("/register", {"username": "x", "password": "short", "confirm": "other"})
    assert page.status_code == 422
    for field in ("username", "password", "confirm"):
        assert field_error(page.text, field), field


def test_register_a_taken_name_in_any_case(auth: AuthActions, new_browser: NewBrowser) -> None:
    auth.register("alice")
    other = new_browser()
    page = other.register("ALICE")
    assert page.status_code == 422
    assert "taken" in (field_error(page.text, "username") or "")
    assert field_value(page.text, "username") == "ALICE"


def test_login_and_logout(auth: AuthActions) -> None:
    auth.register("alice")
    auth.logout()
    assert "Log out" not in auth.client.get("/").text
    response = auth.login("Alice")  # names are matched in any letter case
    assert response.status_code == 302
    assert "Log out" in auth.client.get("/").text
    assert auth.logout().status_code == 302
    assert "Log out" not in auth.client.get("/").text


def test_wrong_password_shows_an_error_and_keeps_the_username(auth: AuthActions) -> None:
    auth.register("alice")
    auth.logout()
    page = auth.login("alice", "not-the-password")
    assert page.status_code == 422
    assert field_error(page.text, "password") == "wrong username or password"
    assert field_value(page.text, "username") == "alice"
    unknown = auth.login("nobody", PASSWORD)
    assert field_error(unknown.text, "password") == "wrong username or password"


def test_login_returns_to_a_local_page_only(auth: AuthActions) -> None:
    auth.register("alice")
    auth.logout()
    target = auth.post("/login", {"username": "alice", "password": PASSWORD, "next": "/account"})
    assert target.location == "/account"
    auth.logout()
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = auth.post("/login", {"username": "alice", "password": PASSWORD, "next": evil})
        assert response.location == "/"
        auth.logout()


def test_pages_for_members_send_visitors_to_login_and_back(auth: AuthActions) -> None:
    response = auth.client.get("/prompts/new")
    assert response.status_code == 302
    assert response.location == "/login?next=/prompts/new"
    form = auth.client.get(response.location).text
    assert 'name="next" value="/prompts/new"' in form
    auth.register("alice")
    auth.logout()
    back = auth.post("/login", {"username": "alice", "password": PASSWORD, "next": "/prompts/new"})
    assert back.location == "/prompts/new"
    assert auth.client.get("/prompts/new").status_code == 200


def test_repeated_failures_are_throttled_with_retry_after(auth: AuthActions) -> None:
    auth.register("alice")
    auth.logout()
    for _ in range(5):
        assert auth.login("alice", "wrong-password").status_code == 422
    refused = auth.login("alice", PASSWORD)  # even the right password waits now
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many attempts" in refused.text
    assert "<h1>429" in refused.text
    assert "Log out" not in auth.client.get("/").text
