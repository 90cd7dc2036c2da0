"""The exact response cache on the real process: never a stale answer, never another viewer's."""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.client import register
from tests.support.process import ServerProcess, free_port
from tests.support.web import Browser

ROUND = re.compile(r"round (\d+)\b")
WRITES = 300
READERS = 6
READS_EACH = 800  # bounds the test's time: 4,800 reads interleaved with the writes


@dataclass
class Ledger:
    """What the writer has sent and had acknowledged, and what readers saw."""

    sent: int = 0
    acknowledged: int = 0
    reads: int = 0
    stale: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def metric(server_metrics: str, name: str, app: str) -> float:
    found = re.search(rf'^{name}{{app="{app}"}} (\S+)$', server_metrics, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


def run_together(write: Callable[[], None], read: Callable[[int], None]) -> None:
    """One writer thread and READERS reader threads (each given its seed), until all end."""
    threads = [threading.Thread(target=write)] + [
        threading.Thread(target=read, args=(seed,)) for seed in range(READERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)


@pytest.fixture
def server(tmp_path: Path):
    metrics_port = free_port()
    process = ServerProcess(tmp_path, env={"METRICS_PORT": str(metrics_port), "LOG_LEVEL": "warning"})
    process.metrics = f"http://127.0.0.1:{metrics_port}/metrics"  # type: ignore[attr-defined]
    process.start()
    yield process
    process.stop()


def test_reads_on_both_apps_never_see_an_answer_older_than_an_acknowledged_write(
    server: ServerProcess,
) -> None:
    token = register(server, "writer")
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        f"{server.backend}/api/prompts",
        headers=auth,
        json={"title": "round 0", "body": "The body stays.", "visibility": "public"},
    )
    assert created.status_code == 201, created.text
    prompt_id = created.json()["id"]
    reads = [
        f"{server.frontend}/prompts/{prompt_id}",
        f"{server.backend}/api/prompts/{prompt_id}",
        f"{server.backend}/api/prompts?author=writer",
        f"{server.frontend}/users/writer",
    ]
    # Readers without credentials, with the writer's token, with the writer's website
    # session: each kind of kept answer (shared, per token, per session) is checked.
    viewers = [{}, auth, {"Cookie": f"session={website_session(server, 'writer')}"}]
    ledger = Ledger()

    def write() -> None:
        chance = random.Random(1)
        with httpx.Client(headers=auth, timeout=30) as client:
            for number in range(1, WRITES + 1):
                with ledger.lock:
                    ledger.sent = number
                answer = client.patch(
                    f"{server.backend}/api/prompts/{prompt_id}", json={"title": f"round {number}"}
                )
                if answer.status_code != 200:
                    ledger.errors.append(f"write {number}: {answer.status_code} {answer.text[:200]}")
                    break
                with ledger.lock:
                    ledger.acknowledged = number
                # Pauses of a few ms let readers hit the cache between writes.
                threading.Event().wait(chance.random() * 0.01)
        ledger.done.set()

    def read(seed: int) -> None:
        chance = random.Random(seed)
        with httpx.Client(timeout=30, headers=viewers[seed % len(viewers)]) as client:
            for _ in range(READS_EACH):
                if ledger.done.is_set():
                    return
                url = chance.choice(reads)
                with ledger.lock:
                    floor = ledger.acknowledged  # every write acknowledged before the read starts
                answer = client.get(url)
                with ledger.lock:
                    ceiling = ledger.sent
                    ledger.reads += 1
                seen = [int(n) for n in ROUND.findall(answer.text)]
                if answer.status_code != 200 or not seen:
                    ledger.errors.append(f"{url}: {answer.status_code} {answer.text[:200]}")
                    return
                if not all(floor <= n <= ceiling for n in seen):
                    ledger.stale.append(f"{url}: saw {seen}, acknowledged {floor}, sent {ceiling}")

    run_together(write, read)
    assert ledger.errors == []
    assert ledger.stale == []
    assert ledger.acknowledged == WRITES
    scraped = httpx.get(server.metrics).text  # type: ignore[attr-defined]
    hits = {app: metric(scraped, "composite_response_cache_hits", app) for app in ("backend", "frontend")}
    # The test means something only if the cache answered many of the reads.
    assert min(hits.values()) > 50, hits
    print(f"\n{WRITES} writes, {ledger.reads} reads, cache hits {hits}: none stale")


def website_session(server: ServerProcess, username: str) -> str:
    """Log in on the website and return the session cookie's value."""
    with Browser(server) as browser:
        assert browser.post("/login", {"username": username, "password": "password123"}).status_code == 302
        return browser.client.cookies["session"]


def test_answers_to_signed_in_viewers_never_reach_anyone_else(server: ServerProcess) -> None:
    token = register(server, "owner")
    auth = {"Authorization": f"Bearer {token}"}
    secret = httpx.post(
        f"{server.backend}/api/prompts",
        headers=auth,
        json={"title": "My secret prompt", "body": "Private words.", "visibility": "private"},
    ).json()
    mine = f"{server.backend}/api/prompts?author=owner"
    for _ in range(3):  # often enough that a kept answer would be served
        own = httpx.get(mine, headers=auth)
        assert "My secret prompt" in own.text
        assert own.headers["cache-control"] == "private, no-cache"
        assert httpx.get(f"{server.backend}/api/prompts/{secret['id']}", headers=auth).status_code == 200
    anonymous = httpx.get(mine)
    assert "My secret prompt" not in anonymous.text
    assert anonymous.headers["cache-control"] == "public, no-cache"
    assert httpx.get(f"{server.backend}/api/prompts/{secret['id']}").status_code == 404

    with Browser(server) as browser:
        assert browser.post("/login", {"username": "owner", "password": "password123"}).status_code == 302
        for _ in range(3):
            home = browser.client.get("/")
            assert "Log out" in home.text
            assert home.headers["cache-control"] == "private, no-cache"
    for _ in range(2):
        stranger = httpx.get(f"{server.frontend}/")
        assert "Log out" not in stranger.text
        assert "My secret prompt" not in stranger.text


def test_kept_pages_survive_writes_to_other_prompts_sign_ups_and_logins(server: ServerProcess) -> None:
    """Exact per scope on the real process: only a write to what a page shows drops it."""
    token = register(server, "author")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=auth, timeout=30) as client:

        def create(title: str) -> int:
            made = client.post(
                f"{server.backend}/api/prompts",
                json={"title": title, "body": f"About {title}.", "visibility": "public"},
            )
            assert made.status_code == 201, made.text
            return made.json()["id"]

        starred = create("zebra")  # the oldest: past the newest page of 20
        for n in range(20):
            create(f"filler {n}")
        shown = create("giraffe")  # the newest: on every page read here
    pages = [
        f"{server.frontend}/prompts/{shown}",
        f"{server.backend}/api/prompts/{shown}",
        f"{server.backend}/api/prompts?sort=new&limit=20",
        f"{server.backend}/api/prompts?q=giraffe",
        f"{server.frontend}/search?q=giraffe",
    ]

    def hits() -> float:
        scraped = httpx.get(server.metrics).text  # type: ignore[attr-defined]
        return sum(metric(scraped, "composite_response_cache_hits", app) for app in ("backend", "frontend"))

    def read_all() -> list[str]:
        answers = [httpx.get(url, timeout=30) for url in pages]
        assert [a.status_code for a in answers] == [200] * len(pages), [a.url for a in answers]
        return [a.text for a in answers]

    first = read_all()  # made and kept
    # Writes that change nothing these pages show: a star on another prompt, a sign-up, a login.
    assert httpx.put(f"{server.backend}/api/prompts/{starred}/star", headers=auth).status_code == 200
    register(server, "newcomer")
    with Browser(server) as person:
        person.post("/login", {"username": "newcomer", "password": "password123"})
    before = hits()
    assert read_all() == first
    assert hits() - before == len(pages), "a page was made again after an unrelated write"

    # A star on the prompt they show drops each of them.
    assert httpx.put(f"{server.backend}/api/prompts/{shown}/star", headers=auth).status_code == 200
    again = []
    for url in pages:
        before = hits()
        again.append(httpx.get(url, timeout=30).text)
        assert hits() == before, f"{url} was served as kept after a star on what it shows"
    assert '"stars":1' in again[1].replace(" ", "")


@pytest.mark.parametrize(
    "spelling", ["session={}", "session ={}", "session = {}", "theme=dark\nsession={}"], ids=repr
)
def test_a_session_cookie_however_spelled_is_never_served_an_anonymous_page(
    server: ServerProcess, spelling: str
) -> None:
    with Browser(server) as person:
        person.register("spelled")
        session = person.client.cookies["session"]
    # Each line of the spelling is a Cookie line of its own, as HTTP/2 clients send them.
    cookies = [("Cookie", line.format(session)) for line in spelling.split("\n")]
    for _ in range(3):  # kept for anonymous viewers, as the home page is
        assert "Log out" not in httpx.get(f"{server.frontend}/").text
    for _ in range(2):
        page = httpx.get(f"{server.frontend}/", headers=cookies)
        assert "Log out" in page.text  # the website logs it in: so the cache must not hand it the shared page
        assert page.headers["cache-control"] == "private, no-cache"
    assert "Log out" not in httpx.get(f"{server.frontend}/").text


def test_reads_never_see_an_answer_older_than_any_kind_of_acknowledged_write(server: ServerProcess) -> None:
    """Edits, stars, visibility, labels, forks published and deleted: each seen by the next read."""
    owner = {"Authorization": f"Bearer {register(server, 'owner')}"}
    fan = {"Authorization": f"Bearer {register(server, 'fan')}"}
    api = f"{server.backend}/api/prompts"
    made = httpx.post(api, headers=owner, json={"title": "round 0", "body": "Stays.", "visibility": "public"})
    assert made.status_code == 201, made.text
    prompt_id = made.json()["id"]
    # What a viewer is shown after each acknowledged write: the owner, and anyone else (None
    # while the prompt is private). states[n] is the state once write n is acknowledged.
    model = {"title": "round 0", "stars": 0, "forks": 0, "labels": {}, "visibility": "public"}
    states = [dict(model)]
    fork: dict[str, int] = {}

    def seen_by_anyone(state: dict[str, object]) -> dict[str, object] | None:
        return None if state["visibility"] == "private" else state

    def step(client: httpx.Client, number: int) -> httpx.Response:
        """Write number ``number``: one of every kind in turn; the model follows what was acknowledged."""
        kind = number % 10
        if kind == 0:  # published again with every edit: the prompt is private for one write in 20
            change = {"title": f"round {number}", "visibility": "public"}
            answer = client.patch(f"{api}/{prompt_id}", headers=owner, json=change)
            model.update(change)
        elif kind in (1, 5) or (kind == 4 and fork):
            answer = client.put(f"{api}/{prompt_id}/star", headers=fan)
            model["stars"] = 1
        elif kind in (2, 8):
            answer = client.delete(f"{api}/{prompt_id}/star", headers=fan)
            model["stars"] = 0
        elif kind == 3:  # the latest version is public: a label on it is shown to anyone
            version = client.get(f"{api}/{prompt_id}", headers=owner).json()["version"]
            answer = client.put(f"{api}/{prompt_id}/labels/prod", headers=owner, json={"version": version})
            model["labels"] = {"prod": version}
        elif kind == 4:
            answer = client.post(f"{api}/{prompt_id}/fork", headers=fan)  # private: not counted yet
            fork["id"] = answer.json().get("id", 0)
        elif kind == 6:
            answer = client.patch(f"{api}/{fork['id']}", headers=fan, json={"visibility": "public"})
            model["forks"] = 1
        elif kind == 7:
            answer = client.delete(f"{api}/{prompt_id}/labels/prod", headers=owner)
            model["labels"] = {}
        elif number % 20 == 9:
            answer = client.patch(f"{api}/{prompt_id}", headers=owner, json={"visibility": "private"})
            model["visibility"] = "private"
        else:  # the public fork goes: the count follows the delete
            answer = client.delete(f"{api}/{fork.pop('id')}", headers=fan)
            model["forks"] = 0
        return answer

    ledger = Ledger()
    writes = 120

    def write() -> None:
        chance = random.Random(2)
        with httpx.Client(timeout=30) as client:
            for number in range(1, writes + 1):
                with ledger.lock:
                    ledger.sent = number
                answer = step(client, number)
                if answer.status_code >= 300:
                    ledger.errors.append(f"write {number}: {answer.status_code} {answer.text[:200]}")
                    break
                with ledger.lock:
                    states.append(dict(model))
                    ledger.acknowledged = number
                threading.Event().wait(chance.random() * 0.01)
        ledger.done.set()

    def shown(answer: httpx.Response) -> dict[str, object] | None:
        if answer.status_code == 404:
            return None
        body = answer.json()
        return {name: body[name] for name in model}

    # Each read: its viewer, the last write acknowledged before it began, the last sent when
    # it ended, and what it showed. Checked once every write's state is known: the write in
    # flight during a read may or may not be seen.
    observed: list[tuple[bool, int, int, dict[str, object] | None]] = []

    def read(seed: int) -> None:
        chance = random.Random(seed)
        headers = owner if seed % 2 else {}
        with httpx.Client(timeout=30, headers=headers) as client:
            for _ in range(READS_EACH):
                if ledger.done.is_set():
                    return
                with ledger.lock:
                    floor = ledger.acknowledged
                answer = client.get(f"{api}/{prompt_id}")
                with ledger.lock:
                    ceiling = ledger.sent
                    ledger.reads += 1
                if answer.status_code not in (200, 404):
                    ledger.errors.append(f"read: {answer.status_code} {answer.text[:200]}")
                    return
                observed.append((bool(headers), floor, ceiling, shown(answer)))
                threading.Event().wait(chance.random() * 0.002)

    run_together(write, read)
    assert ledger.errors == []
    assert ledger.acknowledged == writes
    for as_owner, floor, ceiling, seen in observed:
        possible = states[floor : ceiling + 1]
        expected = possible if as_owner else [seen_by_anyone(state) for state in possible]
        if seen not in expected:
            ledger.stale.append(f"saw {seen} after write {floor}; possible {expected}")
    assert ledger.stale == [], "\n".join(ledger.stale[:20])
    hits = metric(httpx.get(server.metrics).text, "composite_response_cache_hits", "backend")  # type: ignore[attr-defined]
    assert hits > 50, hits  # the test means something only if kept answers were served
