"""Deeply nested JSON imports against the real process: refused at once, in flat memory, both apps.

A list opened a million times is 1 MiB of body; ``ijson.parse`` gave every event its dotted
path, so such a file cost memory and time with the square of its depth (a 4 MiB one took a
23 GB machine down). The reader now counts depth itself and refuses past 32 levels.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from composite.library.import_files import MAX_DEPTH
from tests.reliability.test_import_size import MIB, resident_bytes
from tests.support.client import register
from tests.support.process import ServerProcess
from tests.support.web import Browser, csrf_from

SIZES = (1024, 64 * 1024, MIB, 64 * MIB - 4096)
DEPTH_ERROR = f"nests at least {MAX_DEPTH + 1} levels deep; at most {MAX_DEPTH}"


def nested(size: int, *, inside_prompts: bool) -> bytes:
    """An export of about ``size`` bytes that opens lists as deep as its size allows."""
    head = b'{"format":"allucanget-prompts","prompts":[' if inside_prompts else b'{"x":'
    tail = b"]}" if inside_prompts else b',"format":"allucanget-prompts","prompts":[]}'
    depth = (size - len(head) - len(tail)) // 2
    return head + b"[" * depth + b"]" * depth + tail


class Watch:
    """Both ports asked something every 50 ms while an attack runs; the slowest answer is kept."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.slowest = 0.0
        self.failures: list[str] = []
        self.peak = resident_bytes(server)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.wait(0.05):
                self.peak = max(self.peak, resident_bytes(self.server))
                for url in (f"{self.server.backend}/api/prompts", f"{self.server.frontend}/"):
                    started = time.monotonic()
                    try:
                        status = client.get(url).status_code
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{url}: {exc!r}")
                        continue
                    self.slowest = max(self.slowest, time.monotonic() - started)
                    if status != 200:
                        self.failures.append(f"{url}: {status}")


def attack(server: ServerProcess, send: Callable[[bytes], httpx.Response], expect_status: int) -> None:
    """Every size and both shapes: refused with the depth named, the process flat, both ports up."""
    time.sleep(0.5)  # let start-up allocations settle before the baseline
    before = resident_bytes(server)
    with Watch(server) as watch:
        for size in SIZES:
            for inside in (True, False):
                answer = send(nested(size, inside_prompts=inside))
                assert answer.status_code == expect_status, (size, inside, answer.text[:300])
                assert DEPTH_ERROR in answer.text, (size, inside, answer.text[:300])
    grown = watch.peak - before
    assert grown < 50 * MIB, f"the process grew by {grown / MIB:.0f} MiB"
    assert not watch.failures, watch.failures[:5]
    # Generous: a 64 MiB upload on loopback takes a second or two on a busy machine.
    assert watch.slowest < 5, f"another request waited {watch.slowest:.1f} s"
    assert "Traceback" not in server.log()


@pytest.fixture
def server(tmp_path: Path) -> ServerProcess:
    """The real process in production mode, as an attacker would meet it."""
    process = ServerProcess(tmp_path, env={"ENVIRONMENT": "production"}).start()
    yield process
    process.stop()


@pytest.mark.slow
def test_the_api_refuses_nested_imports_early_in_flat_memory(server: ServerProcess) -> None:
    token = register(server, "nester")
    with httpx.Client(base_url=server.backend, timeout=120) as api:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        attack(server, lambda body: api.post("/api/import", content=body, headers=headers), 422)


@pytest.mark.slow
def test_the_website_refuses_nested_imports_early_in_flat_memory(server: ServerProcess) -> None:
    with Browser(server) as person:
        person.register("nester")
        person.client.timeout = httpx.Timeout(120)
        token = csrf_from(person.client.get("/account").text)

        def send(body: bytes) -> httpx.Response:
            files = {"file": ("prompts.json", body, "application/json")}
            return person.client.post("/account/import", data={"csrf_token": token}, files=files)

        attack(server, send, 422)
