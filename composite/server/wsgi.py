"""Run a WSGI application on the ASGI server, each request on a thread of the mount's own pool.

a2wsgi's ``build_environ`` turns the ASGI scope into the WSGI environ; the part that
runs the application is this module's own, because a2wsgi's responder failed other
people's applications in ways that cannot be patched from outside it:

- it sent the status line as soon as ``start_response`` was called, so an application
  failing before its first body byte gave a truncated 200 instead of a 500. Here, as
  PEP 3333 asks, nothing is sent before the first non-empty body bytes (or the end).
- it kept iterating a response after the client had gone, so each abandoned stream
  held a thread until the pool was full. Here the connection is watched; the response
  stops at its next chunk and the iterable is closed.
- chunked request bodies reached the application empty (no ``wsgi.input_terminated``).
  Here every body streams to its end, ``wsgi.input_terminated`` is set, and a body past
  the mount's limit gets 413.
- ``wsgi.multiprocess`` said True in one process and ``wsgi.errors`` wrote to stdout;
  here it is False and what the application writes there goes to the log at WARNING, as
  under gunicorn.
- it set no ``SERVER_SOFTWARE`` and left ``HTTP_TRANSFER_ENCODING: chunked`` in the environ
  of a body it had already de-chunked, so httpbin refused every chunked upload (501). Here,
  as under waitress, the environ names the server and a de-chunked body carries no
  Transfer-Encoding: the application just reads ``wsgi.input`` to its end.
- it offered no ``wsgi.file_wrapper``. Here a file an application returns through it is
  read in large blocks on the application's thread and closed at the end. (Not with
  sendfile: the ASGI server owns the socket, and uvicorn has no way to send a file.)
- it joined several ``Cookie`` lines with ",", which glues two cookies into one value.
  Here they are joined with "; " by ``composite.server.cookies``, which the response cache
  reads them with too: the application and the cache see the same cookies.

ASGI has no reason phrase: a custom one (``"200 Fine"``) reaches the client as the
standard phrase of its status code.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any

from a2wsgi.wsgi import build_environ

from composite import __version__
from composite.server.asgi import Header, Receive, Scope, Send, plain_response
from composite.server.cookies import cookie_header

log = logging.getLogger("composite.server.wsgi")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_MAX_ERROR_LINE = 16 * 1024  # a line written to wsgi.errors without a newline is logged in pieces
SERVER_SOFTWARE = f"composite/{__version__}"
# Each block is one hand-over to the event loop: Django asks for 4 KiB blocks, which cost
# a hop per 4 KiB, so the wrapper never reads less than this at a time.
_FILE_BLOCK = 256 * 1024


class ClientDisconnected(OSError):
    """The client went away while the application read its body or wrote its response."""


class RequestBodyTooLarge(OSError):
    """The request body grew past the mount's limit while the application read it."""


class WSGIAdapter:
    """ASGI application running a WSGI application in a thread pool of its own."""

    def __init__(self, app: WSGIApp, workers: int, max_body_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.executor = ThreadPoolExecutor(thread_name_prefix="WSGI", max_workers=workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await _Exchange(self, scope, receive, send).run()
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})
        elif scope["type"] == "lifespan":
            # WSGI has no lifespan; agree to both events so the server has nothing to report.
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})


class _Exchange:
    """One request through the WSGI application: body in, response out, the client watched.

    Methods named ``_in_thread_*`` run on the pool's thread; the rest on the event loop.
    """

    def __init__(self, adapter: WSGIAdapter, scope: Scope, receive: Receive, send: Send) -> None:
        self.adapter = adapter
        self.scope = scope
        self.receive = receive
        self.send = send
        self.loop = asyncio.get_running_loop()
        self.status: int | None = None
        self.headers: list[Header] = []
        self.headers_sent = False
        self.complete = False
        self.body_done = False
        self.body_bytes = 0
        self.too_large = False
        self.gone = threading.Event()  # set on the loop, read by the application's thread
        self.watcher: asyncio.Task[None] | None = None

    async def run(self) -> None:
        limit = self.adapter.max_body_bytes
        length: int | None = None
        chunked = False
        for name, value in self.scope["headers"]:
            if name == b"content-length":
                length = int(value)  # the HTTP parser lets digits only through
            elif name == b"transfer-encoding":
                chunked = True
        if limit is not None and length is not None and length > limit:
            await self._too_large()
            return
        if not chunked and not length:
            self._body_ended()
        environ = build_environ(self.scope, _Input(self))  # type: ignore[arg-type]
        if (cookies := cookie_header(self.scope["headers"])) is not None:
            environ["HTTP_COOKIE"] = cookies
        if chunked:
            # Already de-chunked: what the application reads is the body itself.
            environ.pop("HTTP_TRANSFER_ENCODING", None)
        errors = _ErrorStream()
        environ["SERVER_SOFTWARE"] = SERVER_SOFTWARE
        environ["wsgi.errors"] = errors
        environ["wsgi.multiprocess"] = False
        environ["wsgi.input_terminated"] = True  # wsgi.input returns b"" at the body's end
        environ["wsgi.file_wrapper"] = FileWrapper
        try:
            await self.loop.run_in_executor(
                self.adapter.executor, contextvars.copy_context().run, self._in_thread_serve, environ
            )
        finally:
            # Also reached when the server cancels the request: the thread stops at its next chunk.
            self.gone.set()
            if self.watcher is not None:
                self.watcher.cancel()
            errors.flush()

    # On the event loop

    def _body_ended(self) -> None:
        self.body_done = True
        self.watcher = self.loop.create_task(self._watch())

    async def _watch(self) -> None:
        """Learn that the client has gone, once its body is read: nothing else would say so."""
        while (await self.receive())["type"] != "http.disconnect":
            pass
        if not self.complete:
            self.gone.set()

    async def _next_chunk(self) -> bytes:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            self.gone.set()
            raise ClientDisconnected("the client went away while sending its request body")
        body: bytes = message.get("body", b"")
        self.body_bytes += len(body)
        limit = self.adapter.max_body_bytes
        if limit is not None and self.body_bytes > limit:
            self.too_large = True
            raise RequestBodyTooLarge(f"request body is larger than the limit of {limit} bytes")
        if not message.get("more_body", False):
            self._body_ended()
        return body

    async def _too_large(self) -> None:
        text = f"Request body is larger than the limit of {self.adapter.max_body_bytes} bytes.\n"
        await plain_response(self.scope, self.send, 413, text, (b"connection", b"close"))

    # On the application's thread

    def _in_thread_await(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def _in_thread_read(self) -> bytes:
        if self.too_large:
            raise RequestBodyTooLarge("request body is larger than the limit")
        if self.body_done:
            return b""
        return self._in_thread_await(self._next_chunk())

    def _in_thread_serve(self, environ: dict[str, Any]) -> None:
        try:
            iterable = self.adapter.app(environ, self._in_thread_start_response)
            try:
                for chunk in iterable:
                    if chunk:
                        self._in_thread_write(chunk)
                    elif self.gone.is_set():
                        raise ClientDisconnected("the client went away")
                self._in_thread_end()
            finally:
                close = getattr(iterable, "close", None)
                if close is not None:
                    close()
        except ClientDisconnected:
            return  # nobody is left to answer
        except Exception:
            if self.headers_sent:
                raise  # the server logs it and cuts the response short: the client sees it failed
            if self.too_large:
                self._in_thread_await(self._too_large())
                return
            scope = self.scope
            log.exception("%s %s failed before its response started", scope["method"], scope["path"])
            self._in_thread_await(plain_response(self.scope, self.send, 500, "Internal Server Error\n"))

    def _in_thread_start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: ExcInfo | None = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if self.headers_sent:
                raise exc_info[1].with_traceback(exc_info[2])
        elif self.status is not None:
            raise RuntimeError("start_response called a second time without exc_info")
        self.status = int(status.split(" ", 1)[0])
        latin = "latin-1"
        self.headers = [(n.strip().lower().encode(latin), v.strip().encode(latin)) for n, v in headers]
        return self._in_thread_write

    def _in_thread_send_headers(self) -> None:
        if self.status is None:
            raise RuntimeError("the application sent a body before calling start_response")
        if self.too_large:
            # The application answered without noticing its body was cut off: refuse instead.
            raise RequestBodyTooLarge("request body is larger than the limit")
        self.headers_sent = True
        start = {"type": "http.response.start", "status": self.status, "headers": self.headers}
        self._in_thread_await(self.send(start))

    def _in_thread_write(self, chunk: bytes) -> None:
        if self.gone.is_set():
            raise ClientDisconnected("the client went away")
        if not self.headers_sent:
            self._in_thread_send_headers()
        self._in_thread_await(self.send({"type": "http.response.body", "body": chunk, "more_body": True}))

    def _in_thread_end(self) -> None:
        if not self.headers_sent:
            self._in_thread_send_headers()
        self.complete = True
        self._in_thread_await(self.send({"type": "http.response.body", "body": b"", "more_body": False}))


class _Input:
    """``wsgi.input``: the request body as it arrives, ending with b"" whatever its framing."""

    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange
        self.buffer = bytearray()
        self.ended = False

    def _fill(self) -> bool:
        """Append the next chunk of the body; False once the body has ended."""
        if self.ended:
            return False
        chunk = self.exchange._in_thread_read()
        if not chunk and self.exchange.body_done:
            self.ended = True
            return False
        self.buffer += chunk
        return True

    def _take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read(self, size: int | None = -1) -> bytes:
        """Up to size bytes, or the rest of the body."""
        while (size is None or size < 0 or len(self.buffer) < size) and self._fill():
            pass
        return self._take(len(self.buffer) if size is None or size < 0 else size)

    def readline(self, size: int | None = -1) -> bytes:
        """One line, or up to size bytes of it."""
        limit = None if size is None or size < 0 else size
        while True:
            end = self.buffer.find(b"\n", 0, limit)
            if end != -1:
                return self._take(end + 1)
            if (limit is not None and len(self.buffer) >= limit) or not self._fill():
                return self._take(len(self.buffer) if limit is None else limit)

    def readlines(self, hint: int = -1) -> list[bytes]:
        """The remaining lines, stopping once hint bytes have been read."""
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line


class FileWrapper:
    """``wsgi.file_wrapper`` (PEP 3333): a file-like object's content as an iterable of blocks."""

    def __init__(self, filelike: Any, block_size: int = _FILE_BLOCK) -> None:
        self.filelike = filelike
        self.block_size = max(block_size, _FILE_BLOCK)
        if hasattr(filelike, "close"):
            # PEP 3333: the server calls the iterable's close(), which must close the file.
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while block := read(self.block_size):
            yield block


class _ErrorStream:
    """``wsgi.errors``: each line the application writes becomes a warning in the log."""

    def __init__(self) -> None:
        self.pending = ""

    def write(self, text: str) -> int:
        """Log every complete line; keep the rest for the next write."""
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if line:
                log.warning("%s", line)
        if len(self.pending) > _MAX_ERROR_LINE:
            self.flush()
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        """Write each string in turn."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Log what is left of a line without its newline."""
        if self.pending:
            log.warning("%s", self.pending)
            self.pending = ""
