"""Both applications over one database, through the real process: what one writes the other sees."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.client import register
from tests.support.process import ServerProcess
from tests.support.web import Browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process on free ports with an empty database."""
    server = ServerProcess(tmp_path, env={"LOG_LEVEL": "warning"}).start()
    yield server
    server.stop()


def test_written_through_one_app_is_read_through_the_other_at_once(live: ServerProcess) -> None:
    token = register(live, "api-author")
    auth = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        f"{live.backend}/api/prompts",
        headers=auth,
        json={"title": "From the API", "body": "Hi {{name}}", "visibility": "public"},
    ).json()
    page = httpx.get(f"{live.frontend}/prompts/{created['id']}")
    assert page.status_code == 200
    assert "From the API" in page.text
    assert "From the API" in httpx.get(f"{live.frontend}/").text

    with Browser(live) as browser:
        browser.register("web-author")
        web_id = browser.create_prompt("From the website", "Bonjour {{name}}")
        through_api = httpx.get(f"{live.backend}/api/prompts/{web_id}").json()
        assert (through_api["title"], through_api["owner"], through_api["version"]) == (
            "From the website",
            "web-author",
            1,
        )
        edited = browser.edit_prompt(web_id, "Edited on the website", "Salut {{name}}")
        assert edited.status_code == 302
        assert httpx.get(f"{live.backend}/api/prompts/{web_id}").json()["version"] == 2

    patched = httpx.patch(
        f"{live.backend}/api/prompts/{created['id']}", headers=auth, json={"title": "Patched"}
    )
    assert patched.json()["version"] == 2
    assert "Patched" in httpx.get(f"{live.frontend}/prompts/{created['id']}").text


def test_stars_from_both_sides_count_once_each(live: ServerProcess) -> None:
    token = register(live, "starrer")
    auth = {"Authorization": f"Bearer {token}"}
    prompt = httpx.post(
        f"{live.backend}/api/prompts",
        headers=auth,
        json={"title": "Star", "body": "x", "visibility": "public"},
    ).json()
    star_url = f"{live.backend}/api/prompts/{prompt['id']}/star"
    with Browser(live) as browser:
        browser.register("webstar")
        assert httpx.put(star_url, headers=auth).json() == {"stars": 1}
        assert httpx.put(star_url, headers=auth).json() == {"stars": 1}
        for _ in range(2):
            assert browser.star(prompt["id"]).status_code in (302, 303)
        assert httpx.get(f"{live.backend}/api/prompts/{prompt['id']}").json()["stars"] == 2
        assert httpx.put(star_url, headers=auth).json() == {"stars": 2}
        browser.star(prompt["id"], on=False)
    assert httpx.delete(star_url, headers=auth).json() == {"stars": 0}


def test_sixteen_clients_star_and_edit_through_both_ports_and_lose_nothing(live: ServerProcess) -> None:
    owner = register(live, "owner")
    target = httpx.post(
        f"{live.backend}/api/prompts",
        headers={"Authorization": f"Bearer {owner}"},
        json={"title": "Target", "body": "x", "visibility": "public"},
    ).json()["id"]
    failures: list[str] = []
    edits = 5

    def api_client(n: int) -> None:
        auth = {"Authorization": f"Bearer {register(live, f'api{n}')}"}
        with httpx.Client(base_url=live.backend, headers=auth, timeout=30) as client:
            body = {"title": f"api {n}", "body": "v0", "visibility": "public"}
            mine = client.post("/api/prompts", json=body).json()["id"]
            for i in range(1, edits + 1):
                for response in (
                    client.put(f"/api/prompts/{target}/star"),
                    client.patch(f"/api/prompts/{mine}", json={"body": f"v{i}"}),
                    client.delete(f"/api/prompts/{target}/star") if i < edits else client.get("/api/health"),
                ):
                    if response.status_code >= 300:
                        failures.append(f"api{n}: {response.status_code} {response.text[:200]}")

    def web_client(n: int) -> None:
        with Browser(live) as browser:
            web_session(browser, n)

    def web_session(browser: Browser, n: int) -> None:
        browser.register(f"web{n}")
        mine = browser.create_prompt(f"web {n}", "v0")
        for i in range(1, edits + 1):
            for response in (
                browser.star(target),
                browser.edit_prompt(mine, f"web {n}", f"v{i}"),
                browser.star(target, on=False) if i < edits else browser.client.get("/healthz"),
            ):
                if response.status_code >= 400:
                    failures.append(f"web{n}: {response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=api_client, args=(n,)) for n in range(8)]
    threads += [threading.Thread(target=web_client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert httpx.get(f"{live.backend}/api/prompts/{target}").json()["stars"] == 16
    listing = httpx.get(f"{live.backend}/api/prompts", params={"limit": 100}).json()["items"]
    edited = {item["title"]: (item["version"], item["body"]) for item in listing if item["title"] != "Target"}
    assert len(edited) == 16
    assert set(edited.values()) == {(edits + 1, f"v{edits}")}
