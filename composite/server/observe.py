"""Middleware that gives each request an id, counts it in the metrics and describes it to the logs."""

from __future__ import annotations

import time

from composite.server.asgi import ASGIApp, Message, Receive, Scope, Send
from composite.server.early import EarlyAnswer, early_of
from composite.server.metrics import Metrics
from composite.server.requestid import HEADER, RequestInfo, request_id_from, set_current_request


class Observe:
    """Per mount: the request id in and out, the current request for logs, metrics when given."""

    def __init__(self, app: ASGIApp, name: str, metrics: Metrics | None = None) -> None:
        self.app = app
        self.name = name
        self.metrics = metrics
        self.in_flight = 0  # requests in this middleware now (the event loop is one thread)
        if metrics is not None:
            # Read at each scrape: a locked inc() and dec() per request cost more than the count.
            metrics.in_flight.labels(name).set_function(lambda: self.in_flight)
        # Early answers pass through only when the application inside offers them.
        inner = early_of(app)
        if inner is not None:
            self._inner_early = inner
            self.early = self._early

    def _early(self, scope: Scope) -> EarlyAnswer | None:
        """The application's early answer with the request id added and counted as any other."""
        started = time.perf_counter()
        answer = self._inner_early(scope)
        if answer is None:
            return None
        answer.headers += HEADER + b": " + request_id_from(_given_id(scope["headers"])).encode() + b"\r\n"
        if self.metrics is not None:
            seconds = time.perf_counter() - started
            self.metrics.count(self.name, scope["method"], answer.route, answer.status, seconds)
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        given = _given_id(headers)
        request_id = request_id_from(given)
        id_header = (HEADER, request_id.encode())
        # Both applications see the id that is logged and returned, never an unchecked one.
        if given is None:
            headers = [*headers, id_header]
        else:
            headers = [(n, v) for n, v in headers if n != HEADER]
            headers.append(id_header)
        client = scope.get("client")
        info = RequestInfo(
            app=self.name,
            method=scope["method"],
            path=scope["path"],
            client=f"{client[0]}:{client[1]}" if client else "-",
            request_id=request_id,
        )
        # Not reset on the way out: the router's access line, written after this returns in
        # the same task, reads it too. Each request runs in a task of its own.
        set_current_request(info)
        self.in_flight += 1
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                info.status = message["status"]
                given = message.get("headers", ())
                kept = [h for h in given if h[0].lower() != HEADER]
                kept.append(id_header)
                message = {**message, "headers": kept}
            await send(message)

        try:
            await self.app({**scope, "headers": headers}, receive, send_with_id)
        finally:
            info.duration_ms = (time.perf_counter() - started) * 1000
            self.in_flight -= 1
            if self.metrics is not None:
                self.metrics.observe(info)


def _given_id(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The client's X-Request-ID, unchecked, or None."""
    for name, value in headers:
        if name == HEADER:
            return value
    return None
