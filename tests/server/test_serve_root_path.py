"""``root-path`` per mount on the real ``composite serve``: links built under the prefix a proxy removed."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server.test_cli import APPS, STOPPED, Served, run_serve
from tests.support.process import free_port

PREFIXED = f"{APPS}.prefixed"


def test_each_mount_has_its_own_root_path(tmp_path: Path) -> None:
    api, web, plain = free_port(), free_port(), free_port()
    config = tmp_path / "composite.toml"
    config.write_text(f'[[mount]]\nport = {web}\napp = "{PREFIXED}:web"\nroot-path = "/site/web"\n')
    served = Served(
        tmp_path,
        "--config",
        str(config),
        "--mount",
        f"{api}={PREFIXED}:api,root-path=/api",
        "--mount",
        f"{plain}={PREFIXED}:api",
    )
    try:
        served.wait_ready(api, web, plain)
        # The proxy asked for /items/7 having removed /api: routing sees the rest, links get it back.
        assert httpx.get(f"http://127.0.0.1:{api}/items/7").json() == {
            "id": 7,
            "link": f"http://127.0.0.1:{api}/api/items/7",
            "root_path": "/api",
        }
        assert httpx.get(f"http://127.0.0.1:{web}/pages/3").json() == {
            "link": "/site/web/pages/3",
            "script_name": "/site/web",
            "path_info": "/pages/3",
        }
        assert httpx.get(f"http://127.0.0.1:{plain}/items/7").json()["link"] == (
            f"http://127.0.0.1:{plain}/items/7"
        )
    finally:
        assert served.stop() in STOPPED


@pytest.mark.parametrize("prefix", ["api", "/api/", "/a b", "/"])
def test_a_root_path_that_is_not_a_prefix_is_one_line_and_status_2(tmp_path: Path, prefix: str) -> None:
    mount = f"{free_port()}={PREFIXED}:api,root-path={prefix}"
    result = run_serve(tmp_path, "--mount", mount)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: --mount {mount}: root_path: {prefix!r} is not a path prefix such as /app "
        "(a '/' first, none last)\n"
    )
