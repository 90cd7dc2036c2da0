"""What the real process lets out: security headers, versions, tracebacks, secrets in logs."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.client import register
from tests.support.process import ServerProcess
from tests.support.web import CSRF

PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "a-production-secret-of-forty-characters-0123"}
HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


def test_security_headers_on_both_ports_and_no_versions_in_production(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env=PRODUCTION).start()
    try:
        responses = [
            httpx.get(f"{server.backend}/api/health"),
            httpx.get(f"{server.backend}/api/nothing-here"),
            httpx.post(f"{server.backend}/api/users", content=b"{broken"),
            httpx.get(f"{server.frontend}/"),
            httpx.get(f"{server.frontend}/nothing-here"),
            httpx.get(f"{server.frontend}/static/style.css"),
            httpx.post(f"{server.frontend}/login", data={"username": "x"}),  # no CSRF token: 400
        ]
        for response in responses:
            for name in HEADERS:
                assert name in response.headers, (response.request.url, name)
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "server" not in response.headers  # no product or version banner
            assert "x-powered-by" not in response.headers
            assert "Traceback" not in response.text
            assert not re.search(r"(uvicorn|werkzeug|flask|duckdb)/\d", response.text, re.IGNORECASE)
        assert [r.status_code for r in responses] == [200, 404, 422, 200, 404, 200, 400]
        cookie = httpx.get(f"{server.frontend}/login").headers["set-cookie"]  # the CSRF token's session
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    finally:
        server.stop()


def test_passwords_and_tokens_never_reach_the_log(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"LOG_LEVEL": "debug"}).start()
    try:
        password = "a-distinctive-password-42"
        token = register(server, "quiet", password)
        httpx.get(f"{server.backend}/api/prompts", headers={"Authorization": f"Bearer {token}"})
        httpx.post(
            f"{server.backend}/api/tokens", json={"username": "quiet", "password": "wrong-" + password}
        )
        with httpx.Client(base_url=server.frontend) as browser:
            form = browser.get("/login").text
            csrf = CSRF.search(form)
            assert csrf
            login = browser.post(
                "/login", data={"csrf_token": csrf.group(1), "username": "quiet", "password": password}
            )
            assert login.status_code == 302
            session_cookie = browser.cookies.get("session")
        log = server.log()
        assert "quiet" in log or "/api/tokens" in log  # the log is being written
        for secret in (password, token, token[3:], session_cookie or "no-cookie"):
            assert secret not in log
    finally:
        server.stop()
