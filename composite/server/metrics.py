"""Prometheus metrics of the server: requests, latency, requests in flight and gauges read on scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from composite.server.asgi import ASGIApp, Receive, Scope, Send, plain_response
from composite.server.requestid import RequestInfo, set_route

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # requests no route matched (404s): one label value, not their paths
# Seconds: from a cached page to a slow search or an Argon2 login, and the stalls beyond.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """One registry per server (tests build many); the middleware feeds it, a scrape reads it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "composite_requests",
            "Requests answered, by application, method, route template and status.",
            ["app", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "composite_request_duration_seconds",
            "Time from a request's arrival to the end of its response, per application.",
            ["app"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "composite_requests_in_flight", "Requests being served now.", ["app"], registry=self.registry
        )
        self._gauges = _Gauges()
        self.registry.register(self._gauges)
        # The labelled children each request counts in, bound on first use: ``labels()``
        # (a lock, a tuple of str() calls, a lookup) cost more than the counting. As many
        # as the metrics have label sets, which route templates and statuses bound.
        self._counted: dict[tuple[str, str, str | None, int | None], Any] = {}
        self._timed: dict[str, Any] = {}

    def gauge(self, name: str, documentation: str, read: Callable[[], float | None]) -> None:
        """A gauge read at each scrape (None leaves it out, e.g. no backup yet)."""
        self._gauges.readers.append((name, documentation, read))

    def labelled_gauge(
        self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, float]]
    ) -> None:
        """A gauge with one label, read at each scrape as a mapping of label value to value."""
        self._gauges.labelled.append((name, documentation, label, read))

    def observe(self, info: RequestInfo) -> None:
        """Count one finished request."""
        self.count(info.app, info.method, info.route, info.status, (info.duration_ms or 0.0) / 1000)

    def count(self, app: str, method: str, route: str | None, status: int | None, seconds: float) -> None:
        """Count one finished request of ``app`` that took ``seconds``."""
        key = (app, method, route, status)
        counted = self._counted.get(key)
        if counted is None:
            shown = str(status) if status else "none"  # the client left before an answer
            counted = self._counted[key] = self.requests.labels(app, method, route or UNMATCHED, shown)
        counted.inc()
        timed = self._timed.get(app)
        if timed is None:
            timed = self._timed[app] = self.latency.labels(app)
        timed.observe(seconds)

    def render(self) -> bytes:
        """Every metric in Prometheus's text format."""
        return generate_latest(self.registry)

    def app(self) -> ASGIApp:
        """An ASGI application answering GET /metrics (for METRICS_PORT)."""

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                return
            if scope["path"] != "/metrics":
                await plain_response(scope, send, 404, "Not Found: metrics are at /metrics\n")
                return
            body = self.render()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", CONTENT_TYPE.encode()),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

        return serve


class _Gauges(Collector):
    """Gauges computed when scraped: file sizes, ages."""

    def __init__(self) -> None:
        self.readers: list[tuple[str, str, Callable[[], float | None]]] = []
        self.labelled: list[tuple[str, str, str, Callable[[], Mapping[str, float]]]] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, documentation, read in self.readers:
            value = read()
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)
        for name, documentation, label, read_all in self.labelled:
            family = GaugeMetricFamily(name, documentation, labels=[label])
            for key, value in sorted(read_all().items()):
                family.add_metric([key], value)
            yield family


def route_probe(app: ASGIApp) -> ASGIApp:
    """Wrap a Starlette/FastAPI app: after routing, record the template of the route that matched."""

    async def probe(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        finally:
            # The routers write what matched into this same scope dict. FastAPI resolves an
            # included router's routes lazily: ``scope["route"].path`` then lacks the router's
            # prefix, and the whole template is in its effective route context.
            context = (scope.get("fastapi") or {}).get("effective_route_context")
            path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
            if isinstance(path, str):
                set_route(path)

    return probe
