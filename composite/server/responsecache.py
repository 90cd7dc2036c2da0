"""Whole responses kept while nothing they read has changed, exact because the process owns every write.

Only this process writes to its database, so it can tell exactly when an answer may have
changed. ``freshness`` says how: it records what the application read while making an
answer (``start``/``stop``, around the application's call) and says later whether any of
it has changed since (``fresh``). The database's ``Scopes`` record, per scope, the count
of commits seen before each read (composite/db/scopes.py); a plain counter of every
commit (``WriteCounter``) is the coarse form. An answer is stored only if it is still
fresh when the application returns, and served only while it stays so. A read that
overlapped a commit to what it read is therefore never kept, and a request that starts
after a write was acknowledged never gets an answer from before it.

What is kept, and for whom:

- ``GET`` answers with status 200 that set no cookie, keyed by scheme, host, path, query
  string and the request's credentials (its ``Authorization`` header or its
  ``credential_cookies``, as a digest): one viewer's answer is only ever served to a
  request carrying the very same credentials. Cookies are read by
  ``composite.server.cookies``, the reading the application gets too, so a request the
  application would log in is never taken for an anonymous one;
- for a request without credentials, answers the application marked
  ``Cache-Control: public`` (its promise that the answer is the same for every anonymous
  reader and depends on nothing but the database);
- for a request with credentials, answers marked ``private`` or ``public`` (not
  ``no-store``), for at most ``private_seconds``: what ends a session or a token
  without a write (its expiry) ends its kept answers within that time;
- at most ``max_entry_bytes`` each and ``max_bytes`` in all, least recently used out.

Every kept answer has an ``ETag`` (the application's, or a digest of its body), and a
request whose ``If-None-Match`` names it is answered ``304 Not Modified`` with no body,
whether the answer came from the cache or was just made.

A kept answer is also offered as an early answer (``early``, see ``composite.server.early``):
the server writes it the moment the request's headers are parsed, without an ASGI cycle.
Its header lines are serialised once, when it is kept.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import Any, Protocol

from composite.server.asgi import ASGIApp, Header, Message, Receive, Scope, Send
from composite.server.conditional import none_match
from composite.server.cookies import request_cookies
from composite.server.early import EarlyAnswer, header_lines
from composite.server.requestid import current_request

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
DEFAULT_MAX_ENTRY_BYTES = 512 * 1024
DEFAULT_PRIVATE_SECONDS = 10.0
# Headers a 304 repeats from the answer it stands for (RFC 9110 section 15.4.5).
_NOT_MODIFIED_HEADERS = frozenset(
    {b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary"}
)


class Freshness(Protocol):
    """Records what an answer read, and says whether any of it has changed since."""

    def start(self) -> tuple[Any, object]:
        """Begin recording what this context reads: the record, and what stop() needs."""

    def stop(self, token: object) -> None:
        """End the recording start() began."""

    def fresh(self, record: Any) -> bool:
        """Whether nothing the record names has changed since it was made."""


class WriteCounter:
    """Freshness from one counter of every write: an answer is fresh until the next one."""

    def __init__(self, version: Callable[[], int]) -> None:
        self.version = version

    def start(self) -> tuple[int, object]:
        """The count now: what the answer is made under."""
        return self.version(), None

    def stop(self, token: object) -> None:
        """Nothing to end."""

    def fresh(self, record: int) -> bool:
        """No write since the record."""
        return record == self.version()


@dataclass(frozen=True)
class _Entry:
    record: Any  # what the answer read (Freshness), to tell whether it is still current
    headers: list[Header]
    body: bytes
    etag: bytes
    expires: float  # time.monotonic() past which the entry is not served
    route: str | None = None  # the route template that made it, for metrics
    wire: bytes = b""  # the header lines of its 200, as an early answer writes them
    wire_not_modified: bytes = b""  # the header lines of its 304


def _kept(entry: _Entry, route: str | None) -> _Entry:
    """The entry as it is kept: its header lines serialised once for early answers."""
    # The server adds its own Date; a length is always given, so no answer is ever chunked.
    headers = [(n, v) for n, v in entry.headers if n != b"date"]
    if not any(n == b"content-length" for n, _ in headers):
        headers.append((b"content-length", str(len(entry.body)).encode()))
    not_modified = [(n, v) for n, v in headers if n in _NOT_MODIFIED_HEADERS]
    wire, wire_not_modified = header_lines(headers), header_lines(not_modified)
    return replace(entry, route=route, wire=wire, wire_not_modified=wire_not_modified)


@dataclass
class CacheStats:
    """What the cache did, for metrics and the benchmark."""

    hits: int = 0
    misses: int = 0
    stored: int = 0
    not_modified: int = 0
    bytes: int = 0  # the bodies held now
    entries: int = 0


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    return none_match(if_none_match.decode("latin-1"), etag.decode("latin-1"))


def _keepable(headers: list[tuple[bytes, bytes]], *, credentialed: bool) -> bool:
    """Whether the application's Cache-Control lets this answer be kept for this kind of request."""
    directives: set[bytes] = set()
    for name, value in headers:
        if name == b"cache-control":
            directives.update(part.strip().split(b"=")[0].lower() for part in value.split(b","))
    if b"no-store" in directives:
        return False
    if credentialed:
        return bool(directives & {b"public", b"private"})
    return b"public" in directives and b"private" not in directives


class ResponseCache:
    """Serve GETs from whole answers kept while nothing they read has changed."""

    def __init__(
        self,
        app: ASGIApp,
        freshness: Freshness | Callable[[], int],
        *,
        credential_cookies: Collection[str] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
        private_seconds: float = DEFAULT_PRIVATE_SECONDS,
    ) -> None:
        self.app = app
        self.freshness: Freshness = WriteCounter(freshness) if callable(freshness) else freshness
        self.credential_cookies = tuple(credential_cookies)
        self._names = tuple(name.encode("latin-1") for name in credential_cookies)
        self.max_bytes = max_bytes
        self.max_entry_bytes = min(max_entry_bytes, max_bytes)
        self.private_seconds = private_seconds
        self.stats = CacheStats()
        # Only the event loop touches this: no lock needed.
        self._entries: OrderedDict[tuple[bytes, ...], _Entry] = OrderedDict()

    def _read_headers(self, scope: Scope) -> tuple[bytes, bytes, bytes]:
        """The request's credentials (empty when it has none), its Host and its If-None-Match."""
        credentials: list[bytes] = []
        host = if_none_match = b""
        has_cookies = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                credentials.append(b"authorization " + value)
            elif name == b"cookie" and self.credential_cookies:
                has_cookies = True
            elif name == b"host":
                host = value
            elif name == b"if-none-match":
                if_none_match = value
        if has_cookies:
            credentials += self._credential_cookies(scope["headers"])
        # A digest: the cache holds no usable secret, and keys stay small.
        digest = hashlib.blake2b(b"\n".join(credentials), digest_size=16).digest() if credentials else b""
        return digest, host, if_none_match

    def _credential_cookies(self, headers: list[Header]) -> list[bytes]:
        """The credential cookies among the request's, read exactly as the application reads them."""
        # A cookie's name is never unquoted, so a header without the name has no such cookie:
        # only a request that may carry one pays for parsing (the early answer's hot path).
        lines = [value for header, value in headers if header == b"cookie"]
        if not any(name in line for line in lines for name in self._names):
            return []
        # Every value of each name, in order: the application takes one of them (Werkzeug
        # the first), and any difference in any of them makes a different key.
        found = request_cookies(headers)
        return [
            f"cookie {name}={value}".encode()
            for name in self.credential_cookies
            for value in found.getlist(name)
        ]

    def _lookup(self, scope: Scope) -> tuple[tuple[bytes, ...], _Entry | None, bytes, bool]:
        """The request's key, the entry to serve or None, its If-None-Match, whether it has credentials."""
        credentials, host, if_none_match = self._read_headers(scope)
        path = scope.get("raw_path") or scope["path"].encode()
        key = (scope.get("scheme", "http").encode(), host, path, scope["query_string"], credentials)
        entry = self._entries.get(key)
        if entry is not None:
            if entry.expires > time.monotonic() and self.freshness.fresh(entry.record):
                self._entries.move_to_end(key)
                self.stats.hits += 1
            else:  # out of date: its room goes now rather than when it ages out
                self._drop(key)
                entry = None
        return key, entry, if_none_match, bool(credentials)

    def _drop(self, key: tuple[bytes, ...]) -> None:
        old = self._entries.pop(key)
        self.stats.bytes -= len(old.body)
        self.stats.entries = len(self._entries)

    def early(self, scope: Scope) -> EarlyAnswer | None:
        """A kept answer to this GET or HEAD, written by the server without an ASGI cycle; else None."""
        if scope["method"] not in ("GET", "HEAD"):
            return None
        _, entry, if_none_match, _ = self._lookup(scope)
        if entry is None:
            return None
        if self._not_modified(entry, if_none_match):
            return EarlyAnswer(304, entry.wire_not_modified, b"", entry.route)
        body = b"" if scope["method"] == "HEAD" else entry.body
        return EarlyAnswer(200, entry.wire, body, entry.route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        key, entry, if_none_match, credentialed = self._lookup(scope)
        if entry is not None:
            await self._answer(send, entry, if_none_match, head=scope["method"] == "HEAD")
            return
        if scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        self.stats.misses += 1
        await self._fill(scope, receive, send, key, if_none_match, credentialed=credentialed)

    def _not_modified(self, entry: _Entry, if_none_match: bytes) -> bool:
        """Whether the request already holds this answer (a 304 is due), counted when it does."""
        if if_none_match and _matches(if_none_match, entry.etag):
            self.stats.not_modified += 1
            return True
        return False

    async def _answer(self, send: Send, entry: _Entry, if_none_match: bytes, *, head: bool) -> None:
        if self._not_modified(entry, if_none_match):
            headers = [(n, v) for n, v in entry.headers if n in _NOT_MODIFIED_HEADERS]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
        await send({"type": "http.response.body", "body": b"" if head else entry.body})

    async def _fill(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[bytes, ...],
        if_none_match: bytes,
        *,
        credentialed: bool,
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passing = False  # the answer is not kept: everything goes straight to the client

        async def capture(message: Message) -> None:
            nonlocal start, size, passing, made
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                lowered = [(n.lower(), v) for n, v in message.get("headers", [])]
                start = {**message, "headers": lowered}
                keepable = (
                    message["status"] == 200
                    and _keepable(lowered, credentialed=credentialed)
                    and not any(n == b"set-cookie" for n, _ in lowered)
                    and not any(n == b"vary" and b"*" in v for n, v in lowered)
                )
                if not keepable:
                    passing = True
                    await send(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            chunks.append(body)
            size += len(body)
            if size > self.max_entry_bytes:  # too big to keep: send what was held, then stream
                passing = True
                assert start is not None
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                chunks.clear()
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            if message.get("more_body", False):
                return
            assert start is not None
            whole = b"".join(chunks)
            given = [v for n, v in start["headers"] if n == b"etag"]
            # The application's own validator when it gave one, so that its 304s agree.
            etag = given[0] if given else _etag(whole)
            headers = start["headers"] if given else [*start["headers"], (b"etag", etag)]
            lifetime = self.private_seconds if credentialed else float("inf")
            made = _Entry(record, headers, whole, etag, time.monotonic() + lifetime)
            await self._answer(send, made, if_none_match, head=False)

        made: _Entry | None = None
        record, token = self.freshness.start()
        try:
            await self.app(scope, receive, capture)
        finally:
            self.freshness.stop(token)
        # Kept once the application has returned, so that the route it matched is known. A
        # write committed to what it read while this answer was made: it may be older than
        # the data, so it is not kept.
        if made is not None and self.freshness.fresh(record):
            info = current_request()
            self._store(key, _kept(made, info.route if info is not None else None))

    def _store(self, key: tuple[bytes, ...], entry: _Entry) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.stats.bytes -= len(old.body)
        self._entries[key] = entry
        self.stats.bytes += len(entry.body)
        self.stats.stored += 1
        while self.stats.bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.stats.bytes -= len(evicted.body)
        self.stats.entries = len(self._entries)
