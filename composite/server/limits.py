"""Request body limits: bodies counted as they reach the application, or read in full first.

By default a body reaches the application as it arrives, as under uvicorn alone: an
application may answer before reading it (a 401, a redirect, a 413 of its own), stream it
to disk, report progress, and ``Expect: 100-continue`` works (uvicorn sends the 100 on the
application's first ``receive()``). What this adds:

- a declared Content-Length past the limit is answered 413 at once, before any 100 and
  without reading; within the limit the parser delivers exactly that many bytes, so the
  body passes untouched;
- a body of unknown length (chunked) is counted as it passes. Past the limit the
  application is told the client has gone, and the client gets 413, or, when the
  application has already begun its answer, the end of the connection (through the
  protocol's ``END_CONNECTION`` extension), so the answer is seen to be incomplete. An
  answer begun before such a body ended says ``connection: close``: the rest of a body the
  application no longer reads would otherwise be drained without any bound.

With ``buffered=True`` every body, sized or chunked, is read here up to the limit and handed
on in one piece with a Content-Length. That is for a WSGI application: it reads its body
from a thread, so a slow client would hold one of its few threads on every read of a
dribbled body; read here, on the event loop, the protocol's body deadline ends the wait
without any thread. What this buffers is bounded per port: ``max_bytes`` per request, and
``BUFFERED_BODIES`` times that for every request of the port together; beyond it a
request is answered 503 with Retry-After rather than grow the process.

A few paths (an upload of a whole file) may be given a larger limit of their own, streamed
or not. Such a body is spooled to a temporary file as it arrives, never held in memory,
and replayed to the application in chunks once complete (one declared within the ordinary
limit is handled as any other body); at most ``large_at_once`` of them per port are under
way together (each costs disk and, in the application, the work of a large file), and one
more is answered 503 with Retry-After. So few slots must not be held by just anyone: when
the application gives ``admit_large``, only a request it admits (one carrying a credential
it accepts) may send more than the ordinary limit, and any other gets that limit (413);
and a large body must arrive within ``large_seconds``, whatever its rate, or is answered
408, so no client keeps a slot for the hours the protocol's minimum rate would allow.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from typing import IO

from composite.server.asgi import END_CONNECTION
from composite.server.router import ASGIApp, Message, Receive, Scope, Send

# How many bodies of the maximum size one port may hold in memory at once.
BUFFERED_BODIES = 32
# How many bodies on a path with a larger limit one port receives and serves at once.
LARGE_BODIES = 2
# A spooled body is replayed to the application in chunks of this size.
REPLAY_CHUNK = 64 * 1024
# The longest a large body may take to arrive: 64 MiB in it is 75 KB/s, slower than any
# line an upload of that size is sent over, yet a slot is never held for long.
LARGE_BODY_SECONDS = 15 * 60
MIB = 1024 * 1024

log = logging.getLogger("composite.server")

# Renders a refusal: (scope, status, message) -> (content type, payload), or an awaitable of
# them: a page that depends on who asks may need a database, which is read on a thread.
Rendered = tuple[bytes, bytes]
Refusal = Callable[[Scope, int, str], Rendered | Awaitable[Rendered]]
# Says whether a request may send a large body: true when it carries a credential the
# application accepts. It may read a database, so it runs on a thread, not the loop.
Admission = Callable[[Scope], bool]


def describe_size(limit: int) -> str:
    """A byte count as people read a limit: "64 MiB" when whole mebibytes, else bytes."""
    return f"{limit // MIB} MiB" if limit >= MIB and limit % MIB == 0 else f"{limit} bytes"


class BodyLimit:
    """Refuse bodies over max_bytes with 413: counted as they reach the application, or read in full first."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        buffered: bool = False,
        json_errors: bool = False,
        large_paths: Mapping[str, int] | None = None,
        large_at_once: int = LARGE_BODIES,
        refusal: Refusal | None = None,
        admit_large: Admission | None = None,
        large_seconds: float = LARGE_BODY_SECONDS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streams = not buffered  # bodies reach the application as they arrive
        self.json_errors = json_errors
        self.large_paths = dict(large_paths or {})
        self.large_at_once = large_at_once
        self.refusal = refusal
        self.admit_large = admit_large
        self.large_seconds = large_seconds
        self.max_buffered = BUFFERED_BODIES * max_bytes
        self.buffered = 0  # bytes held for requests on this port, read and written on the loop
        self.large = 0  # large bodies under way on this port, counted on the loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        declared = None if length is None else int(length)  # h11 and httptools accept digits only
        if not chunked and not declared:
            await self.app(scope, receive, send)
            return
        limit = self.large_paths.get(scope["path"], self.max_bytes)
        # On a large path, a body declared within the ordinary limit is handled as any other.
        large = limit > self.max_bytes and (declared is None or declared > self.max_bytes)
        if large and not await self._admitted(scope):
            note = f" ({describe_size(limit)} with valid credentials)"
            limit, large = self.max_bytes, False
        else:
            note = ""
        if declared is not None and declared > limit:
            await self._refuse(scope, send, 413, self._too_large_text(limit, note))
            return
        if large:
            await self._spooled(scope, receive, send, limit)
        elif not self.streams:
            await self._buffered(scope, receive, send, note)
        elif chunked:
            await self._counted(scope, receive, send, note)
        else:
            # The parser delivers no more than the declared length: nothing to count.
            await self.app(scope, receive, send)

    async def _admitted(self, scope: Scope) -> bool:
        """Whether the application lets this request send a large body (yes, when it did not say)."""
        if self.admit_large is None:
            return True
        try:
            return await asyncio.to_thread(self.admit_large, scope)
        except Exception:  # a check that cannot answer admits no one; the request gets the ordinary limit
            log.exception("the check for a large upload failed")
            return False

    async def _buffered(self, scope: Scope, receive: Receive, send: Send, note: str = "") -> None:
        body = bytearray()
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client went, or the protocol's body deadline ended it
                chunk = message.get("body", b"")
                body += chunk
                self.buffered += len(chunk)
                if len(body) > self.max_bytes:
                    await self._refuse(scope, send, 413, self._too_large_text(self.max_bytes, note))
                    return
                if self.buffered > self.max_buffered:
                    text = "Too many request bodies at once, try again shortly."
                    await self._refuse(scope, send, 503, text)
                    return
                if not message.get("more_body", False):
                    break
            delivered = False

            async def replay() -> Message:
                nonlocal delivered
                if delivered:
                    return await receive()
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            await self.app(_sized(scope, len(body)), replay, send)
        finally:
            self.buffered -= len(body)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, note: str) -> None:
        """Pass a body of unknown length on as it arrives, and stop it at the limit."""
        received = 0
        ended = started = cut = False

        async def counting() -> Message:
            nonlocal received, ended, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received <= self.max_bytes:
                ended = not message.get("more_body", False)
                return message
            cut = True  # from here on the application's sends go nowhere, as after a disconnect
            if not started:
                await self._refuse(scope, send, 413, self._too_large_text(self.max_bytes, note))
            elif (extension := (scope.get("extensions") or {}).get(END_CONNECTION)) is not None:
                extension["end"]()
            # (A server without the extension closes the connection itself once the
            # application returns with its answer incomplete, and says so in its log.)
            return {"type": "http.disconnect"}

        async def answering(message: Message) -> None:
            nonlocal started
            if cut:
                return
            if message["type"] == "http.response.start":
                started = True
                if not ended:
                    message = _closing(message)
            await send(message)

        try:
            await self.app(scope, counting, answering)
        except Exception:
            if not cut:
                raise
            # The application was told the client had gone, and failed over it (Starlette
            # raises ClientDisconnect): the client has had its answer, this is no fault.
            log.debug("%s %s failed once its body was cut off", scope["method"], scope["path"], exc_info=True)

    async def _spooled(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        if self.large >= self.large_at_once:
            await self._refuse(scope, send, 503, "Too many large uploads at once, try again shortly.")
            return
        self.large += 1
        # Kept in memory up to the ordinary limit, on disk beyond: writes of one received
        # chunk to the page cache take microseconds, so they stay on the loop.
        with tempfile.SpooledTemporaryFile(max_size=self.max_bytes) as spool:
            try:
                try:
                    async with asyncio.timeout(self.large_seconds):
                        size = await self._spool(scope, receive, send, limit, spool)
                except TimeoutError:
                    seconds = self.large_seconds
                    took = f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"
                    await self._refuse(scope, send, 408, f"The upload did not arrive within {took}.")
                    return
                if size is None:
                    return
                spool.seek(0)
                await self.app(_sized(scope, size), _replay_file(spool, size, receive), send)
            finally:
                self.large -= 1

    async def _spool(
        self, scope: Scope, receive: Receive, send: Send, limit: int, spool: IO[bytes]
    ) -> int | None:
        """Write the body to the spool; its size, or None when the request was answered or gone."""
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, 413, self._too_large_text(limit))
                return None
            spool.write(chunk)
            if not message.get("more_body", False):
                return size

    def _too_large_text(self, limit: int, note: str = "") -> str:
        return f"Request body is larger than the limit of {describe_size(limit)}{note}."

    async def _refuse(self, scope: Scope, send: Send, status: int, text: str) -> None:
        if self.refusal is not None:
            rendered = self.refusal(scope, status, text)
            kind, payload = await rendered if inspect.isawaitable(rendered) else rendered
        elif self.json_errors:
            payload, kind = json.dumps({"detail": text}).encode(), b"application/json"
        else:
            payload, kind = (text + "\n").encode(), b"text/plain; charset=utf-8"
        headers = [
            (b"content-type", kind),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]
        if status == 503:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def _closing(start: Message) -> Message:
    """A response start that says the connection closes after it."""
    headers = list(start.get("headers", ()))
    if not any(name.lower() == b"connection" and b"close" in value.lower() for name, value in headers):
        headers.append((b"connection", b"close"))
    return {**start, "headers": headers}


def _sized(scope: Scope, size: int) -> Scope:
    """The scope with its body's framing replaced by the Content-Length of the body read."""
    framing = (b"transfer-encoding", b"content-length")
    headers = [(n, v) for n, v in scope["headers"] if n not in framing]
    headers.append((b"content-length", str(size).encode()))
    return {**scope, "headers": headers}


def _replay_file(spool: IO[bytes], size: int, receive: Receive) -> Receive:
    """A receive that hands out the spooled body chunk by chunk, then waits on the client."""
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(REPLAY_CHUNK)
        more = spool.tell() < size
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replay
