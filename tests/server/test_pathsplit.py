"""PathSplit: one port shared by path prefix, as nginx's locations split the site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from composite.server.pathsplit import PathSplit
from tests.server.test_cli import APPS, STOPPED, Served, run_serve
from tests.support.process import free_port


def named(name: str) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"{name} {scope['path']}".encode()})

    app.__name__ = name
    return app


@pytest.mark.parametrize(
    ("path", "chosen"),
    [
        ("/api", "api"),
        ("/api/", "api"),
        ("/api/prompts/1", "api"),
        ("/api/admin/x", "admin"),
        ("/api/admin", "admin"),
        ("/apix", "web"),
        ("/", "web"),
        ("/static/style.css", "web"),
        ("/a/api", "web"),
    ],
)
def test_the_longest_prefix_wins_and_only_at_a_segment_boundary(path: str, chosen: str) -> None:
    apps = {name: named(name) for name in ("api", "admin", "web")}
    split = PathSplit([("/api", apps["api"]), ("/api/admin", apps["admin"])], default=apps["web"])
    assert split.pick(path) is apps[chosen]


@pytest.mark.parametrize("prefix", ["api", "/api/", ""])
def test_a_malformed_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        PathSplit([(prefix, named("x"))], default=named("y"))


def test_composite_serve_splits_one_port_between_two_mounts(tmp_path: Path) -> None:
    api, web, public = free_port(), free_port(), free_port()
    served = Served(
        tmp_path,
        "--mount",
        f"{api}={APPS}.api:app,name=api",
        "--mount",
        f"{web}={APPS}.flaskr:create_app(),name=web",
        "--split",
        f"{public}=/who:api,/:{web}",
    )
    try:
        served.wait_ready(api, web, public)
        base = f"http://127.0.0.1:{public}"
        assert httpx.get(f"{base}/who").json() == {"who": "api"}  # FastAPI, with its lifespan state
        assert httpx.post(f"{base}/create", data={"title": "via the split"}).status_code == 302
        assert httpx.get(f"{base}/").json()["posts"] == ["via the split"]  # Flask
        # The same applications still answer on their own ports.
        assert httpx.get(f"http://127.0.0.1:{web}/").json()["posts"] == ["via the split"]
        assert f"split:{public} listening" in served.log()
    finally:
        assert served.stop() in STOPPED


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ("9999=/api:nosuch,/:web", "no mount named or on port 'nosuch'"),
        ("9999=/api:web", "needs a route for '/'"),
        ("9999=api:web,/:web", "must start with '/'"),
        ("9999", "expected PORT=PREFIX:MOUNT"),
    ],
)
def test_a_bad_split_is_one_line_and_status_2(tmp_path: Path, split: str, message: str) -> None:
    result = run_serve(tmp_path, "--mount", f"12000={APPS}.second:build(),name=web", "--split", split)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr
