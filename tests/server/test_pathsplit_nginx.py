"""``--split`` against the nginx template itself: every path reaches the application nginx picks."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from composite.server.pathsplit import normalise
from tests.server.test_cli import APPS, Served
from tests.support.nginx import Nginx, find_nginx, loopback_env, require_tool
from tests.support.process import free_port

# Dot segments, encoded dots, repeated slashes, and paths that climb above the root.
PATHS = [
    "/api/x",
    "/api",
    "/apix",
    "/api/../x",
    "/api/./x",
    "/api/%2e%2e/x",
    "/api/%2E%2E/x",
    "//api/x",
    "/x/../api/y",
    "/a/./b/../../api/y",
    "/api/x/..",
    "/api/..",
    "/api/.",
    "/x/..//api",
    "/api/...",
    "/..",
    "/api/../../x",
    "/%2e%2e/api",
]


def ask(port: int, path: str) -> tuple[int, str | None]:
    """Status and the answering application's name for a request with the path sent verbatim."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "localhost"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        return response.status, None
    return 200, json.loads(body)["app"]


@pytest.fixture(scope="module")
def behind_both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """The nginx template in front of two mounts, and the same two mounts split by --split."""
    binary = require_tool("nginx", find_nginx())
    api, web, split, listen = free_port(), free_port(), free_port(), free_port()
    served = Served(
        tmp_path_factory.mktemp("serve"),
        "--mount",
        f"{api}={APPS}.whoami:api,name=api",
        "--mount",
        f"{web}={APPS}.whoami:web,name=web",
        "--split",
        f"{split}=/api:api,/:web",
    )
    prefix = tmp_path_factory.mktemp("nginx")
    missing = prefix / "no-certificate.pem"  # HTTPS off: only the locations matter here
    env = loopback_env(api, web, f"127.0.0.1:{listen}", f"127.0.0.1:{free_port()}", missing, missing)
    nginx = Nginx(binary, prefix, env)
    try:
        served.wait_ready(api, web, split)
        nginx.prepare().start()
        yield listen, split
    finally:
        nginx.stop()
        served.stop()


@pytest.mark.parametrize("path", PATHS)
def test_the_split_chooses_as_nginx_does(behind_both: tuple[int, int], path: str) -> None:
    through_nginx, split = behind_both
    assert ask(split, path) == ask(through_nginx, path)


@pytest.mark.parametrize(
    ("path", "seen"),
    [
        ("/api/x", "/api/x"),
        ("/api/../x", "/x"),
        ("//api//x", "/api/x"),
        ("/api/.", "/api/"),
        ("/api/x/..", "/api/"),
        ("/..", None),
        ("/", "/"),
    ],
)
def test_normalise(path: str, seen: str | None) -> None:
    assert normalise(path) == seen
