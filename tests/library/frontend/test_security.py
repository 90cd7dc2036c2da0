"""CSRF on every form, sessions that change at login and die at logout, and malformed input."""

from __future__ import annotations

import dataclasses
import io

import pytest
from flask.testing import FlaskClient

from composite.config import Settings
from composite.db import Database
from composite.library import credentials
from composite.library.frontend import create_frontend
from tests.library.frontend.conftest import PASSWORD, AuthActions
from tests.support.web import CSRF


def session_data(client: FlaskClient) -> dict[str, object]:
    """What the signed session cookie holds."""
    app = client.application
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return serializer.loads(cookie.value)


# Every state-changing form, with data that would succeed given the right token.
FORMS: list[tuple[str, dict[str, object]]] = [
    ("/register", {"username": "mallory", "password": PASSWORD, "confirm": PASSWORD}),
    ("/login", {"username": "alice", "password": PASSWORD}),
    ("/logout", {}),
    ("/prompts/new", {"title": "Forged", "body": "x", "visibility": "public"}),
    ("/prompts/{id}/edit", {"title": "Forged", "body": "x", "visibility": "public"}),
    ("/prompts/{id}/delete", {}),
    ("/prompts/{id}/star", {}),
    ("/prompts/{id}/unstar", {}),
    ("/prompts/{id}/versions/1/restore", {}),
    ("/account/tokens", {"name": "forged"}),
    ("/account/tokens/{token}/revoke", {}),
    ("/account/import", {"file": b'{"format": "allucanget-prompts", "prompts": []}'}),
]


@pytest.mark.parametrize(("path", "data"), FORMS, ids=[path for path, _ in FORMS])
@pytest.mark.parametrize("token", [None, "", "wrong-token", "other-browser"])
def test_forms_refuse_a_missing_or_wrong_csrf_token(
    alice: AuthActions,
    bob: AuthActions,
    db: Database,
    path: str,
    data: dict[str, object],
    token: str | None,
) -> None:
    prompt_id = alice.create_prompt(title="Target")
    alice.edit_prompt(prompt_id, body="second")
    alice.post(f"/prompts/{prompt_id}/star")
    alice.post("/account/tokens", {"name": "keep"})
    user = credentials.list_tokens(db, 1)
    url = path.format(id=prompt_id, token=user[0].id)
    form: dict[str, object] = {
        k: (io.BytesIO(v), "x.json") if isinstance(v, bytes) else v for k, v in data.items()
    }
    if token == "other-browser":
        form["csrf_token"] = bob.csrf()  # a real token, but of someone else's session
    elif token is not None:
        form["csrf_token"] = token
    kind = "multipart/form-data" if path == "/account/import" else None
    response = alice.client.post(url, data=form, content_type=kind)
    assert response.status_code == 400
    assert "did not come from this site" in response.text
    # Nothing changed: still logged in, prompt untouched, token still there.
    page = alice.client.get(f"/prompts/{prompt_id}").text
    assert "Log out" in page
    assert "<h1>Target" in page
    assert "version 2" in page
    assert "★ Starred" in page
    assert [t.name for t in credentials.list_tokens(db, 1)] == ["keep"]


def test_the_csrf_token_is_masked_afresh_on_every_page_and_each_mask_is_accepted(alice: AuthActions) -> None:
    prompt_id = alice.create_prompt(title="Target")
    pages = [alice.client.get(page).text for page in ("/prompts/new", f"/prompts/{prompt_id}", "/account")]
    tokens = [token for page in pages for token in CSRF.findall(page)]
    assert len(tokens) >= 4
    assert len(set(tokens)) == len(tokens)  # no two forms, on one page or two, carry the same bytes
    secret = session_data(alice.client)["csrf"]
    assert not any(secret in page for page in pages)  # the session's own secret is never on a page
    for token in tokens[:3]:  # any of them, used in any order, is this browser's token
        form = {"csrf_token": token, "name": f"key {token[:6]}"}
        made = alice.client.post("/account/tokens", data=form)
        assert made.status_code == 200, made.text[:300]  # the page showing the new API token
    # The secret itself, a token cut short or padded, or two tokens' halves swapped are not.
    half = len(tokens[0]) // 2
    for forged in (secret, tokens[0][:-4], tokens[0] + "AAAA", tokens[1][:half] + tokens[0][half:], "%%%%"):
        assert (
            alice.client.post("/account/tokens", data={"csrf_token": forged, "name": "x"}).status_code == 400
        )


def test_the_session_holds_only_the_session_id_and_the_csrf_token(auth: AuthActions) -> None:
    auth.client.get("/login")
    assert set(session_data(auth.client)) == {"csrf"}
    auth.register("alice")
    assert set(session_data(auth.client)) == {"sid", "csrf"}


def test_login_issues_a_new_session_id_and_csrf_token(auth: AuthActions, db: Database) -> None:
    auth.register("alice")
    auth.logout()
    before_cookie = auth.session_cookie
    auth.csrf()
    before_csrf = session_data(auth.client)["csrf"]
    auth.login("alice")
    first = session_data(auth.client)
    assert auth.session_cookie != before_cookie
    assert first["csrf"] != before_csrf
    # Logging in again (say, over a session planted by someone else) changes the id again
    # and ends the old one.
    auth.login("alice")
    second = session_data(auth.client)
    assert second["sid"] != first["sid"]
    assert credentials.user_for_session(db, str(first["sid"])) is None
    assert credentials.user_for_session(db, str(second["sid"])) is not None


def test_logout_ends_the_session_so_a_copied_cookie_stops_working(auth: AuthActions, db: Database) -> None:
    auth.register("alice")
    stolen = auth.session_cookie
    sid = session_data(auth.client)["sid"]
    assert stolen is not None
    assert auth.client.get("/account").status_code == 200
    auth.logout()
    assert credentials.user_for_session(db, str(sid)) is None
    auth.client.set_cookie("session", stolen)  # replay the cookie from before logout
    response = auth.client.get("/account")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert "Log out" not in auth.client.get("/").text
    # The replayed cookie's CSRF token cannot do anything in alice's name either.
    auth.client.set_cookie("session", stolen)
    forged = auth.post("/prompts/new", {"title": "x", "body": "y", "visibility": "public"})
    assert forged.status_code == 302
    assert forged.location.startswith("/login")


@pytest.mark.parametrize("production", [False, True])
def test_session_cookie_flags(settings: Settings, db: Database, production: bool) -> None:
    settings = dataclasses.replace(settings, app_env="production" if production else "development")
    client = create_frontend(settings, db).test_client()
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is production


@pytest.mark.parametrize(
    "query",
    ["q=%FF", "q=%C3%28", "q=a%00b", "topic=%00", "q=\xff"],
    ids=["escaped byte", "broken sequence", "nul", "nul in placeholder", "raw byte"],
)
def test_malformed_query_strings_get_400(alice: AuthActions, query: str) -> None:
    prompt_id = alice.create_prompt(body="About {{topic}}")
    for path in ("/search", f"/prompts/{prompt_id}", "/"):
        # The query goes in as raw bytes, as a client would send them.
        response = alice.client.get(path, environ_overrides={"QUERY_STRING": query})
        assert response.status_code == 400, (path, query)
        assert "<h1>400" in response.text


@pytest.mark.parametrize(
    "body",
    [
        b"title=%FF&body=x&visibility=public",
        b"title=\xff\xfe&body=x",
        b"title=a%00b&body=x&visibility=public",
    ],
    ids=["escaped byte", "raw bytes", "nul"],
)
def test_malformed_forms_get_400_and_store_nothing(alice: AuthActions, body: bytes) -> None:
    token = alice.csrf().encode()
    response = alice.client.post(
        "/prompts/new",
        data=b"csrf_token=" + token + b"&" + body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert "No prompts yet" in alice.client.get("/").text


def test_nul_in_an_upload_form_gets_400(alice: AuthActions) -> None:
    data = {"csrf_token": alice.csrf(), "note": "a\x00b", "file": (io.BytesIO(b"{}"), "x.json")}
    response = alice.client.post("/account/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/prompts/99999999999999999999",
        "/prompts/99999999999999999999/history",
        "/prompts/1/versions/99999999999999999999",
        "/users/%FF%FE",
        "/tags/%00",
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/nope",
    ],
)
def test_odd_paths_are_not_found(frontend_client: FlaskClient, path: str) -> None:
    response = frontend_client.get(path)
    assert response.status_code == 404
    assert "<h1>404" in response.text


def test_unknown_methods_are_refused_in_the_layout(frontend_client: FlaskClient) -> None:
    for response in (frontend_client.delete("/search"), frontend_client.put("/login")):
        assert response.status_code == 405
        assert "<h1>405" in response.text
    assert frontend_client.post("/nowhere").status_code == 404


def test_unexpected_errors_render_the_500_page(
    frontend_client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composite.library import catalog

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(catalog, "tag_page", broken)
    frontend_client.application.config["PROPAGATE_EXCEPTIONS"] = False
    response = frontend_client.get("/tags")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "database on fire" not in response.text


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),  # neither header: not a browser, so not a browser being tricked
        ({"Origin": "http://localhost"}, True),
        ({"Origin": "http://LOCALHOST:80"}, True),
        ({"Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none", "Origin": "http://localhost"}, True),
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "http://localhost.evil.example"}, False),
        ({"Origin": "null"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"}, False),
    ],
)
def test_state_changing_requests_from_another_site_are_refused(
    alice: AuthActions, headers: dict[str, str], allowed: bool
) -> None:
    fields = {
        "title": "T",
        "body": "b",
        "tags": "",
        "visibility": "public",
        "description": "",
        "model_hint": "",
    }
    response = alice.post("/prompts/new", fields, headers=headers)
    if allowed:
        assert response.status_code == 302, response.text
    else:
        assert response.status_code == 403
        assert "came from another site" in response.text
        assert "<h1>403" in response.text


def test_a_cross_site_login_is_refused_before_any_password_check(auth: AuthActions, db: Database) -> None:
    auth.register("alice")
    auth.logout()
    refused = auth.post(
        "/login", {"username": "alice", "password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    assert db.fetchone("SELECT count(*) FROM login_failures") == (0,)


def test_an_overlong_username_at_login_is_never_stored(auth: AuthActions, db: Database) -> None:
    page = auth.login("x" * 900_000, "whatever1")
    assert page.status_code == 422
    assert "wrong username or password" in page.text
    assert db.fetchone("SELECT max(length(key)) FROM login_failures") == (len("ip:127.0.0.1"),)
