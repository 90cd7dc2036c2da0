"""Accounts under attack, against the real process: hashing floods, guessing races, lockouts, redirects.

Clients connect from different loopback addresses (every 127/8 address is local), so the
server sees them as different people, as it would on the internet.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from composite.library import throttle
from tests.support.process import ServerProcess
from tests.support.web import CSRF

pytestmark = pytest.mark.slow

PASSWORD = "password123"
RSS_LIMIT_KIB = 300 * 1024


def client_from(address: str, base_url: str, **kwargs: object) -> httpx.Client:
    """An HTTP client whose connections come from ``address``."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(transport=transport, base_url=base_url, timeout=60, **kwargs)  # type: ignore[arg-type]


def status_kib(pid: int, field: str) -> int:
    """A memory figure of a process from /proc/PID/status, in KiB (VmRSS now, VmHWM at peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def in_parallel(
    count: int, work: Callable[[int, object], int | str], prepare: Callable[[int], object] = lambda n: None
) -> Counter[int | str]:
    """Prepare each of count clients, then release work(n, prepared) on all threads at once."""
    barrier = threading.Barrier(count)
    results: list[int | str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        prepared = prepare(n)
        barrier.wait()
        try:
            outcome: int | str = work(n, prepared)
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return Counter(results)


def form_session(address: str, base_url: str, page: str) -> tuple[httpx.Cookies, str]:
    """A visitor's session cookie and CSRF token for a form, on a connection closed afterwards."""
    # The form is sent later on a new connection: a kept-alive one may time out meanwhile.
    with client_from(address, base_url) as client:
        return client.cookies, csrf(client, page)


def csrf(client: httpx.Client, page: str = "/login") -> str:
    """The CSRF token of a page's form (its session cookie kept in the client)."""
    match = CSRF.search(client.get(page).text)
    assert match
    return match.group(1)


def web_login(client: httpx.Client, username: str, password: str, **extra: str) -> httpx.Response:
    """Submit the website's login form."""
    token = csrf(client)
    return client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password, **extra}
    )


def web_register(client: httpx.Client, username: str, **extra: str) -> httpx.Response:
    """Submit the website's registration form."""
    token = csrf(client, "/register")
    fields = {"csrf_token": token, "username": username, "password": PASSWORD, "confirm": PASSWORD}
    return client.post("/register", data={**fields, **extra})


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process with its production budgets for sign-ups and tokens."""
    server = ServerProcess(tmp_path, env={"REGISTER_RATE": "20/hour", "TOKEN_RATE": "60/hour"}).start()
    yield server
    server.stop()


# Finding: 40 parallel sign-ups took the process from 119 MB to 1.0 GB, and it stayed there.


@pytest.mark.parametrize("app", ["backend", "frontend"])
def test_100_parallel_sign_ups_and_logins_keep_the_process_under_300_mb(
    limited: ServerProcess, app: str
) -> None:
    assert limited.proc is not None
    pid = limited.proc.pid
    base = limited.backend if app == "backend" else limited.frontend
    httpx.post(f"{limited.backend}/api/users", json={"username": "owner", "password": PASSWORD})

    # A different address for each client: the per-address budget is not what stops them.
    def address(n: int) -> str:
        return f"127.0.1.{n + 1}"

    def prepare(page: str) -> Callable[[int], object]:
        return lambda n: form_session(address(n), base, page) if app == "frontend" else None

    def sign_up(n: int, prepared: object) -> int:
        fields = {"username": f"flood{n}", "password": PASSWORD}
        if app == "backend":
            with client_from(address(n), base) as client:
                return client.post("/api/users", json=fields).status_code
        cookies, token = prepared  # type: ignore[misc]
        with client_from(address(n), base, cookies=cookies) as client:
            return client.post(
                "/register", data={**fields, "confirm": PASSWORD, "csrf_token": token}
            ).status_code

    def log_in(n: int, prepared: object) -> int:
        fields = {"username": "owner", "password": PASSWORD}
        if app == "backend":
            with client_from(address(n), base) as client:
                return client.post("/api/tokens", json=fields).status_code
        cookies, token = prepared  # type: ignore[misc]
        with client_from(address(n), base, cookies=cookies) as client:
            return client.post("/login", data={**fields, "csrf_token": token}).status_code

    ok = 201 if app == "backend" else 302
    for work, page in ((sign_up, "/register"), (log_in, "/login")):
        outcomes = in_parallel(100, work, prepare(page))
        # Busy (503, Retry-After) is the bounded answer when no hashing slot frees in time.
        assert set(outcomes) <= {ok, 503}, outcomes
        assert outcomes[ok] >= 20, outcomes
    peak = status_kib(pid, "VmHWM")
    assert peak < RSS_LIMIT_KIB, f"peak RSS {peak // 1024} MiB"
    assert status_kib(pid, "VmRSS") < RSS_LIMIT_KIB
    assert httpx.get(f"{limited.frontend}/healthz").status_code == 200


def test_sign_ups_and_token_requests_share_one_budget_per_address_over_both_apps(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, env={"REGISTER_RATE": "4/hour", "TOKEN_RATE": "4/hour"}).start()
    try:
        with (
            client_from("127.0.0.5", server.backend) as api,
            client_from("127.0.0.5", server.frontend) as site,
            client_from("127.0.0.6", server.backend) as elsewhere,
        ):
            for n in range(2):
                assert (
                    api.post("/api/users", json={"username": f"api{n}", "password": PASSWORD}).status_code
                    == 201
                )
                assert web_register(site, f"web{n}").status_code == 302
            refused = api.post("/api/users", json={"username": "api9", "password": PASSWORD})
            assert refused.status_code == 429
            assert "sign-ups" in refused.json()["detail"]
            assert 0 < int(refused.headers["retry-after"]) <= 3600
            page = web_register(site, "web9")
            assert page.status_code == 429
            assert int(page.headers["retry-after"]) > 0
            assert "sign-ups" in page.text
            # Another address has its own budget.
            assert (
                elsewhere.post("/api/users", json={"username": "other", "password": PASSWORD}).status_code
                == 201
            )

            for _ in range(4):
                assert (
                    api.post("/api/tokens", json={"username": "api0", "password": PASSWORD}).status_code
                    == 201
                )
            refused = api.post("/api/tokens", json={"username": "api0", "password": PASSWORD})
            assert refused.status_code == 429
            assert "token requests" in refused.json()["detail"]
            assert int(refused.headers["retry-after"]) > 0
    finally:
        server.stop()


# Finding: 200 synchronised guesses got 33 password checks instead of 5.


def test_60_parallel_guesses_get_at_most_the_budget_of_password_checks(limited: ServerProcess) -> None:
    httpx.post(f"{limited.backend}/api/users", json={"username": "victim", "password": PASSWORD})

    def api_guess(n: int, prepared: object) -> int:
        with client_from("127.0.0.2", limited.backend) as client:
            return client.post(
                "/api/tokens", json={"username": "victim", "password": f"guess-{n}"}
            ).status_code

    def web_guess(n: int, prepared: object) -> int:
        cookies, token = prepared  # type: ignore[misc]
        fields = {"username": "victim", "password": f"guess-{n}", "csrf_token": token}
        with client_from("127.0.0.4", limited.frontend, cookies=cookies) as client:
            return client.post("/login", data=fields).status_code

    # A wrong password that was checked answers 401 (API) or 422 (site); refused unchecked, 429.
    api = in_parallel(60, api_guess)
    assert set(api) <= {401, 429}, api
    assert api[401] <= throttle.MAX_PER_USERNAME, api
    web = in_parallel(60, web_guess, lambda n: form_session("127.0.0.4", limited.frontend, "/login"))
    assert set(web) <= {422, 429}, web
    assert web[422] <= throttle.MAX_PER_USERNAME, web


def test_guesses_from_one_address_do_not_lock_the_owner_out_elsewhere(limited: ServerProcess) -> None:
    httpx.post(f"{limited.backend}/api/users", json={"username": "owner", "password": PASSWORD})
    with (
        client_from("127.0.0.2", limited.backend) as attacker,
        client_from("127.0.0.2", limited.frontend) as attacker_site,
        client_from("127.0.0.3", limited.backend) as owner,
        client_from("127.0.0.3", limited.frontend) as owner_site,
    ):
        statuses = [
            attacker.post("/api/tokens", json={"username": "owner", "password": f"guess-{n}"}).status_code
            for n in range(throttle.MAX_PER_USERNAME + 2)
        ]
        assert statuses[-1] == 429, statuses
        # The attacker is refused even with the right password now...
        assert (
            attacker.post("/api/tokens", json={"username": "owner", "password": PASSWORD}).status_code == 429
        )
        assert web_login(attacker_site, "owner", PASSWORD).status_code == 429
        # ...but the owner, from their own address, gets in through both apps.
        assert owner.post("/api/tokens", json={"username": "owner", "password": PASSWORD}).status_code == 201
        assert web_login(owner_site, "owner", PASSWORD).status_code == 302
        # One address cannot spread its guesses over many names beyond its own budget either.
        spread = [
            attacker.post("/api/tokens", json={"username": f"name{n}", "password": "guess"}).status_code
            for n in range(throttle.MAX_PER_ADDRESS)
        ]
        assert spread.count(401) <= throttle.MAX_PER_ADDRESS - throttle.MAX_PER_USERNAME
        assert spread[-1] == 429


# Finding: next=/%09/evil.example redirected to //evil.example; next with "\n" gave a 500.

LEAVING = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/ /evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "%2F%2Fevil.example",
    "/\u00a0/evil.example",
    "/\u2028/evil.example",
    "/\u3000/evil.example",
    "/\ufeff/evil.example",
    "/\x7f/evil.example",
    "/\x0b/evil.example",
    "/" + "a" * 3000,
]
# Paths of this site stay as they are, percent-encoded ones included: a browser resolves
# "/%09/evil.example" to a (missing) page here, never to another host.
STAYING = {
    "/prompts/new": "/prompts/new",
    "/search?q=a%20b&sort=new": "/search?q=a%20b&sort=new",
    "/tags/x?": "/tags/x",
    "/%09/evil.example": "/%09/evil.example",
    "/%2F%2Fevil.example": "/%2F%2Fevil.example",
    "/%5Cevil.example": "/%5Cevil.example",
}


def assert_same_site(location: str) -> None:
    """A Location a browser can only resolve to a page of this site."""
    assert location.startswith("/"), repr(location)
    assert not location.startswith("//"), repr(location)
    assert all("!" <= char <= "~" for char in location), repr(location)
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("", ""), repr(location)


def test_next_never_leaves_the_site_after_login_or_sign_up(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        httpx.post(f"{server.backend}/api/users", json={"username": "owner", "password": PASSWORD})
        for n, target in enumerate(LEAVING + list(STAYING)):
            for action in ("login", "register"):
                with httpx.Client(base_url=server.frontend, timeout=30) as client:
                    if action == "login":
                        response = web_login(client, "owner", PASSWORD, next=target)
                    else:
                        response = web_register(client, f"next{n}", next=target)
                assert response.status_code == 302, (action, target, response.text[:300])
                location = response.headers["location"]
                assert_same_site(location)
                assert location == STAYING.get(target, "/"), (action, target, location)
                with httpx.Client(base_url=server.frontend, cookies=client.cookies) as logged_in:
                    assert "Log out" in logged_in.get("/").text  # the session works
    finally:
        server.stop()
    assert "Traceback" not in server.log()
