"""Metrics, request ids and JSON logs of the real process."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from composite.config import Settings
from composite.db import Database
from composite.library import site
from composite.library.migrations import MIGRATIONS_DIR
from composite.server import Mount, PortRouter
from composite.server.metrics import Metrics
from tests.server.test_router import call, plain_app
from tests.support.operations import admin
from tests.support.process import ServerProcess, free_port


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real process with JSON logs and a metrics port."""
    port = free_port()
    server = ServerProcess(tmp_path, env={"LOG_FORMAT": "json", "METRICS_PORT": str(port)})
    server.metrics_port = port  # type: ignore[attr-defined]
    server.start()
    yield server
    server.stop()


def _requests(text: str) -> Counter[tuple[str, str, str, str]]:
    """composite_requests_total as parsed by prometheus-client's own parser."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name == "composite_requests":
            for sample in family.samples:
                if sample.name == "composite_requests_total":
                    labels = sample.labels
                    key = (labels["app"], labels["method"], labels["route"], labels["status"])
                    counts[key] = int(sample.value)
    return counts


def _gauges(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        if family.type == "gauge"
        for sample in family.samples
        if not sample.labels
    }


def test_metrics_count_every_request_by_route_template_while_requests_run(observed: ServerProcess) -> None:
    metrics_url = f"http://127.0.0.1:{observed.metrics_port}/metrics"  # type: ignore[attr-defined]
    before = _requests(httpx.get(metrics_url).text)
    sent = {"api": 0, "page": 0, "missing": 0}
    stop = threading.Event()

    def traffic(kind: str, url: str) -> None:
        with httpx.Client(timeout=30) as client:
            for n in range(1, 41):
                client.get(url.format(n=n))
                sent[kind] += 1

    threads = [
        threading.Thread(target=traffic, args=("api", f"{observed.backend}/api/prompts/{{n}}")),
        threading.Thread(target=traffic, args=("page", f"{observed.frontend}/prompts/{{n}}")),
        threading.Thread(target=traffic, args=("missing", f"{observed.backend}/api/no/such/{{n}}")),
    ]
    for thread in threads:
        thread.start()
    scrapes = 0
    while any(t.is_alive() for t in threads):
        # Scraped and parsed while requests run: always well-formed.
        _requests(httpx.get(metrics_url).text)
        scrapes += 1
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert scrapes > 0
    after = _requests(admin(observed, "metrics").stdout)
    grown = after - before
    assert grown[("backend", "GET", "/api/prompts/{prompt_id}", "404")] == sent["api"]
    assert grown[("frontend", "GET", "/prompts/<id:prompt_id>", "404")] == sent["page"]
    # Unmatched paths are one label value, never the paths themselves.
    assert grown[("backend", "GET", "unmatched", "404")] == sent["missing"]
    assert not any("/no/such" in key[2] for key in after)
    text = httpx.get(metrics_url).text
    gauges = _gauges(text)
    assert gauges["composite_database_file_bytes"] > 0
    assert "composite_database_wal_bytes" in gauges
    assert "composite_request_duration_seconds_bucket" in text
    assert "composite_requests_in_flight" in text
    in_flight = {
        sample.labels["app"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "composite_requests_in_flight"
        for sample in family.samples
    }
    assert in_flight == {"backend": 0, "frontend": 0}  # every request counted in came out again


def test_request_id_is_kept_or_made_returned_and_logged_as_json(observed: ServerProcess) -> None:
    given = httpx.get(f"{observed.backend}/api/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert given.headers["x-request-id"] == "trace-42.a:b"
    page = httpx.get(f"{observed.frontend}/healthz", headers={"X-Request-ID": "page-7"})
    assert page.headers["x-request-id"] == "page-7"
    unsafe = httpx.get(f"{observed.backend}/api/health", headers={"X-Request-ID": "x" * 500})
    made = unsafe.headers["x-request-id"]
    assert len(made) == 32
    assert made != "x" * 500
    spaced = httpx.get(f"{observed.frontend}/healthz", headers={"X-Request-ID": "a b\tc"})
    assert spaced.headers["x-request-id"] != "a b\tc"
    time.sleep(0.3)
    lines = [line for line in observed.log().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert not [e for e in entries if e["logger"] == "uvicorn.error"]
    assert any(e["logger"] == "composite.server" for e in entries)
    access = {e["request_id"]: e for e in entries if e["logger"] == "composite.access"}
    for request_id, app, path in (
        ("trace-42.a:b", "backend", "/api/health"),
        ("page-7", "frontend", "/healthz"),
        (made, "backend", "/api/health"),
    ):
        entry = access[request_id]
        assert (entry["app"], entry["method"], entry["path"], entry["status"]) == (app, "GET", path, 200)
        assert entry["duration_ms"] >= 0
        assert entry["client"].startswith("127.0.0.1:")


def test_metrics_report_write_lock_waits_and_requests_refused_at_the_cap(tmp_path: Path) -> None:
    settings = Settings(database_path=tmp_path / "app.db", secret_key="m" * 40, load_examples=False)
    db = Database(settings.database_path).open()
    db.migrate(MIGRATIONS_DIR)
    try:
        metrics = Metrics()
        port = free_port()
        router = PortRouter([Mount("backend", port, plain_app)], max_in_flight=0)  # every request refused
        site._measure_limits(metrics, db, router)
        assert asyncio.run(call(router, port))[0] == 503

        holding = threading.Event()

        def hold() -> None:
            with db.transaction():
                holding.set()
                time.sleep(0.3)

        holder = threading.Thread(target=hold)
        holder.start()
        holding.wait()
        db.write(lambda cur: cur.execute("SELECT 1"))  # waits for the holder
        holder.join()

        families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
        value = {name: f.samples[0].value for name, f in families.items() if f.samples}
        assert value["composite_write_lock_longest_wait_seconds"] >= 0.2
        assert value["composite_write_lock_longest_hold_seconds"] >= 0.25
        # The 0.3 s hold passed the bounds up to 0.25 s (and, however busy the machine, not 1 s).
        holds = families["composite_write_lock_holds_longer_than"].samples
        longer = {sample.labels["seconds"]: sample.value for sample in holds}
        assert (longer["0.25"], longer["1"]) == (1.0, 0.0)
        assert value["composite_write_transactions"] >= 2
        refused = families["composite_requests_refused"].samples
        assert [(s.labels["app"], s.value) for s in refused] == [("backend", 1.0)]
    finally:
        db.close()
