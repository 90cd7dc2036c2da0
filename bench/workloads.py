"""The workloads: what each sends, to which app, and the data it needs from the database."""

from __future__ import annotations

import http.client
import json
import random
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus, urlencode, urlsplit

import duckdb

from bench.generate import BENCH_PASSWORD, BENCH_USER
from bench.loadgen import Load

# What people type into a prompt library's search box: common words and rare ones.
QUERIES = (
    "code review",
    "summarise email",
    "sql query",
    "write blog post",
    "translate french",
    "unit tests python",
    "customer support reply",
    "haiku",
    "interview questions",
    "marketing copy",
    "explain concept analogy",
    "regex",
)
TAGS = ("writing", "code", "review", "summary", "email", "marketing", "sql", "python", "data", "learning")
NEW_PROMPT = json.dumps(
    {
        "title": "Bench prompt %d",
        "description": "Created by the benchmark",
        "body": "Summarise the following {{kind}} for a busy reader in five points (run %d).\n\n{{text}}",
        "tags": ["bench", "summary"],
        "visibility": "public",
    }
)


@dataclass(frozen=True)
class Workload:
    """One kind of request, sent to one app; writes=True needs a writable database and a token.

    account=True sends the bench user's session cookie: logging in writes a session, so it
    needs a writable database too, but the requests themselves only read.
    """

    name: str
    label: str
    app: str
    writes: bool = False
    account: bool = False


WORKLOADS = {
    w.name: w
    for w in (
        Workload("api_health", "GET /api/health", "backend"),
        Workload("api_list", "GET /api/prompts (page of 20)", "backend"),
        Workload("api_get", "GET /api/prompts/{id}", "backend"),
        Workload("api_search", "GET /api/prompts?q=…", "backend"),
        Workload("api_create", "POST /api/prompts", "backend", writes=True),
        Workload("site_home", "website home /", "frontend"),
        Workload("site_home_user", "website home /, logged in", "frontend", account=True),
        Workload("site_prompt", "website prompt page /prompts/{id}", "frontend"),
        Workload("site_search", "website search /search?q=…", "frontend"),
        Workload("floor", "GET / (minimal ASGI app)", "floor"),
        Workload("flask_floor", "GET / (Flask hello, short HTML)", "flask_floor"),
        Workload("fastapi_floor", "GET / (FastAPI hello, sync, small JSON)", "fastapi_floor"),
    )
}
# The floor each workload's share is measured against: the framework's hello on the same server.
FLOOR_OF = {"backend": "fastapi_floor", "frontend": "flask_floor"}
# Loaded at once on both ports: the API's list against the website's prompt pages.
BOTH = ("api_list", "site_prompt")
# The growth study: latency of these as the library grows.
GROWTH = {
    "search": ("backend", "GET /api/prompts?q=…"),
    "site_search": ("frontend", "website search /search?q=…"),
    "list": ("backend", "GET /api/prompts"),
    "tag": ("frontend", "website tag page /tags/{tag}"),
    "prompt": ("frontend", "website prompt page /prompts/{id}"),
}


def public_ids(database: Path, count: int = 200, seed: int = 1) -> list[int]:
    """Ids of public prompts spread over the whole table (read before the server opens it)."""
    with duckdb.connect(str(database), read_only=True) as con:
        (top,) = con.execute("SELECT max(id) FROM prompts").fetchone() or (0,)
        rng = random.Random(seed)
        wanted = sorted({rng.randint(1, top) for _ in range(count * 2)}) if top else []
        rows = con.execute(
            "SELECT id FROM prompts WHERE visibility = 'public' AND id IN (SELECT unnest(?::BIGINT[]))",
            [wanted],
        ).fetchall()
    ids = [row[0] for row in rows][:count]
    rng.shuffle(ids)
    return ids


def api_token(backend_url: str) -> str:
    """A bearer token for the generated bench account."""
    request = urllib.request.Request(
        f"{backend_url}/api/tokens",
        data=json.dumps({"username": BENCH_USER, "password": BENCH_PASSWORD, "name": "bench"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _cookie(response: http.client.HTTPResponse, name: str) -> str | None:
    """The value a response sets for one cookie, if it sets it."""
    for header in response.headers.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0]
        key, _, value = pair.partition("=")
        if key.strip() == name:
            return value
    return None


def session_cookie(frontend_url: str, cookie_name: str = "session") -> str:
    """A Cookie header value logged in as the bench user: the login form's token, then POST /login."""
    parts = urlsplit(frontend_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", "/login")
        form = connection.getresponse()
        page = form.read().decode()
        anonymous = _cookie(form, cookie_name)
        match = CSRF_INPUT.search(page)
        if form.status != 200 or anonymous is None or match is None:
            raise RuntimeError(f"GET /login gave {form.status} without a form token and cookie")
        fields = {"username": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": match.group(1)}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        headers["Cookie"] = f"{cookie_name}={anonymous}"
        connection.request("POST", "/login", body=urlencode(fields), headers=headers)
        answer = connection.getresponse()
        answer.read()
        logged_in = _cookie(answer, cookie_name)
        if answer.status != 302 or logged_in is None:
            raise RuntimeError(f"POST /login gave {answer.status}, not a redirect with a session")
    finally:
        connection.close()
    return f"{cookie_name}={logged_in}"


def load_for(name: str, ids: list[int], token: str | None = None, cookie: str | None = None) -> Load:
    """The requests one workload (or growth measure) sends."""
    queries = tuple(quote_plus(q) for q in QUERIES)
    prompt_pages = tuple(f"/prompts/{i}" for i in ids) or ("/prompts/1",)
    loads = {
        "api_health": Load(paths=("/api/health",)),
        "api_list": Load(paths=("/api/prompts",)),
        "api_get": Load(paths=tuple(f"/api/prompts/{i}" for i in ids) or ("/api/prompts/1",)),
        "list": Load(paths=("/api/prompts",)),
        "api_search": Load(paths=tuple(f"/api/prompts?q={q}" for q in queries)),
        "search": Load(paths=tuple(f"/api/prompts?q={q}" for q in queries)),
        "api_create": Load(method="POST", paths=("/api/prompts",), body=NEW_PROMPT, token=token),
        "site_home": Load(paths=("/",)),
        "site_home_user": Load(paths=("/",), cookie=cookie),
        "site_prompt": Load(paths=prompt_pages),
        "prompt": Load(paths=prompt_pages),
        "site_search": Load(paths=tuple(f"/search?q={q}" for q in queries)),
        "tag": Load(paths=tuple(f"/tags/{t}" for t in TAGS)),
        "floor": Load(paths=("/",)),
        "flask_floor": Load(paths=("/",)),
        "fastapi_floor": Load(paths=("/",)),
    }
    return loads[name]
