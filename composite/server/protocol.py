"""uvicorn's HTTP protocol with deadlines on slow clients and a connection cap per port.

uvicorn puts no bound on a client's slowness: it times out idle keep-alive connections
only after a first response, never times out a request body, and waits for ever for a
client that stops reading its response. Each such client holds a connection, a request
in flight and, on a WSGI port, possibly a thread. Here:

- headers: every request must finish its headers within ``header_timeout`` seconds of
  the connection opening or of the previous exchange ending, and stay under
  ``MAX_HEADER_BYTES`` (httptools has no bound: the answer is 431);
- bodies: a body must arrive within ``body_timeout`` seconds plus one second for every
  ``body_min_rate`` bytes received (Apache's ``mod_reqtimeout`` rule), so a client
  dribbling a byte every few seconds is cut off while a slow but honest upload is not;
- responses: a client that accepts nothing of a pending response for ``send_timeout``
  seconds (write buffer above its high-water mark, or a close waiting to flush) is
  dropped, which releases the task or thread blocked on writing to it;
- connections: each listening port has its own cap on open connections, so that one
  port's crowd never turns the other port's users away.

A response's head (status line and headers) waits for its first body bytes and goes out
with them in one write: uvicorn writes the head as soon as the application starts its
response, which made two system calls (and often two packets) of every small answer. A
head with nothing after it in the same turn of the event loop goes out alone then.

A deadline that passes while a response can still be written answers 408 first.

Bodies reach applications as they arrive. A response begun before the application asked
for a body sent with ``Expect: 100-continue`` (so no 100 went out) closes the connection
after it: the client may send that body late or never, and its bytes could not be told
from a next request. Any other early answer leaves the rest of a body to be read as body,
under the body deadline. An answer that ends the connection while its body is still coming
(a 413 on a declared length) lingers: the rest of the body is read and dropped for at most
``LINGER_SECONDS``, since closing with bytes unread would reset the connection and could
destroy the answer before it is read. Every request's scope offers ``END_CONNECTION`` (see
``composite.server.asgi``), with which middleware ends a connection whose answer has begun,
without it looking complete. Every request's task can ask ``client_gone()``
(``composite.server.gone``) whether its connection has closed.

A request whose answer the port's application already has (an early answer, see
``composite.server.early``) is answered as soon as its headers are parsed, in one write,
without starting a task; with the client not reading (writing paused) or requests queued
behind a slow one, it takes the normal path, which waits for the client.

The header and body clocks are one timer each per connection, not per request: a request
moves the moment it is due (``_header_due``, ``_body_started``) and a timer that fires
early schedules itself again for what is left. A keep-alive client sending thousands of
requests a second would otherwise make and cancel two timers for each of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import socket
import struct
import termios
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from composite.server.asgi import END_CONNECTION, ASGIApp, Message, Scope
from composite.server.early import Early, EarlyAnswer, header_lines
from composite.server.gone import watching

HEADER_TIMEOUT = 10.0
MAX_HEADER_BYTES = 64 * 1024
BODY_TIMEOUT = 20.0
BODY_MIN_RATE = 4096
SEND_TIMEOUT = 30.0
# How long a client still sending a body its answer refused may go on, its bytes dropped,
# before the connection closes (see ``_close_after_answer``).
LINGER_SECONDS = 2.0
# At a stop, how long a connection that has sent no request yet (or only part of one) still
# has to send its headers: its request is usually in the kernel's buffer already.
STOP_HEADER_SECONDS = 2.0
REQUEST_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\nconnection: close\r\n\r\nRequest headers are too large.\n"
)


class DeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that bounds how slowly a client may send and read, and how many connect."""

    header_timeout: ClassVar[float] = HEADER_TIMEOUT
    body_timeout: ClassVar[float] = BODY_TIMEOUT
    body_min_rate: ClassVar[float] = BODY_MIN_RATE
    send_timeout: ClassVar[float] = SEND_TIMEOUT
    max_connections: ClassVar[int | None] = None
    # Open connections by local port; ``deadline_protocol`` gives each server its own.
    open_connections: ClassVar[Counter[int]] = Counter()
    # Connections refused (503) at the cap, by local port: for metrics.
    refused_connections: ClassVar[Counter[int]] = Counter()
    # What answers early on each local port (the router's ``early_for``), and the trusted
    # proxies' X-Forwarded-* applied to a request before it is answered early.
    early_for: ClassVar[Callable[[int], Early | None] | None] = None
    forwarded: ClassVar[ASGIApp | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_due: float | None = None  # headers are awaited until then (None: not awaited)
        self._body_deadline: asyncio.TimerHandle | None = None
        self._write_deadline: asyncio.TimerHandle | None = None
        self._drain_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._in_body = False
        self._message_ended = False
        self._lingering = False  # answered and closing: what still arrives is dropped
        self._body_started = 0.0
        self._body_bytes = 0
        self._port: int | None = None
        self._early: Early | None = None
        self._stopping = False  # the server is stopping: one more request, then the connection ends
        # Offered to every request's application (see END_CONNECTION): made once per connection.
        self._end_extension: dict[object, object] = {"end": self._end_connection}

    # Connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Count the connection against its port's cap and start the clock for the first headers."""
        super().connection_made(transport)
        if self.server is not None and self.server[1] is not None:
            self._port = self.server[1]
            over_cap = self.max_connections is not None and (
                self.open_connections[self._port] >= self.max_connections
            )
            self.open_connections[self._port] += 1
            if over_cap:
                self.refused_connections[self._port] += 1
            # uvicorn answers 503 to a request whose connection finds the count at or over
            # its limit; a limit of 0 makes that true for this connection only.
            self.limit_concurrency = 0 if over_cap else None
            early_for = type(self).early_for
            self._early = early_for(self._port) if early_for is not None else None
        self._arm_header_deadline()
        if self._stopping:
            self._hurry_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop every clock and release the connection's place under its port's cap."""
        self._release()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """At a graceful stop: end an idle connection, but first answer a request on its way.

        uvicorn closes every connection without a request in progress, and closing one whose
        request is still unread resets it: a client that had just sent a request (a new
        connection, or a kept-alive one from nginx) would get no answer at all.
        """
        in_progress = self.cycle is not None and not self.cycle.response_complete
        if not in_progress and (self.cycle is None or self._header_bytes or self._unread()):
            self.stopping()
            return
        super().shutdown()

    def stopping(self) -> None:
        """Answer one more request on this connection, with ``Connection: close``, if it comes soon."""
        self._stopping = True
        if self.transport is not None:  # else connection_made does it
            self._hurry_headers()

    def _hurry_headers(self) -> None:
        due = self.loop.time() + STOP_HEADER_SECONDS
        if self._header_due is not None and due < self._header_due:
            self._header_due = due
            if self._header_deadline is not None:
                self._header_deadline.cancel()
            self._header_deadline = self.loop.call_at(due, self._header_deadline_passed)

    def _unread(self) -> int:
        """Bytes the kernel has received on this connection that have not been read (Linux)."""
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return 0
        try:
            return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    def handle_websocket_upgrade(self) -> None:
        """The websocket protocol takes the transport over: this one lets go of it."""
        self._release()
        super().handle_websocket_upgrade()

    def _release(self) -> None:
        for handle in (
            self._header_deadline,
            self._body_deadline,
            self._write_deadline,
            self._drain_deadline,
        ):
            if handle is not None:
                handle.cancel()
        self._header_deadline = self._body_deadline = self._write_deadline = self._drain_deadline = None
        self._header_due = None
        if self._port is not None:
            self.open_connections[self._port] -= 1
            if not self.open_connections[self._port]:
                del self.open_connections[self._port]
            self._port = None

    def _close(self) -> None:
        """Close after flushing what is buffered, but never wait for a client longer than allowed."""
        held = self.cycle.transport if self.cycle is not None else None
        if isinstance(held, _HeadWithBody):
            held.flush()
        self.transport.close()
        self._linger()

    def _close_after_answer(self) -> None:
        """Close after an answer that ends the connection; linger when the body is still coming.

        Closing a socket with unread bytes makes the kernel reset the connection, and the
        reset can discard the answer before the client reads it: nginx, still passing on an
        upload, reports 502 instead of the 413 it was sent. So the write side ends after the
        answer, what still arrives is read and dropped, and the connection closes when the
        client ends its side or after ``LINGER_SECONDS``: a bounded cost, as nginx's own
        lingering close.
        """
        if not self._in_body or self.transport.is_closing() or not self.transport.can_write_eof():
            self._close()
            return
        self._lingering = True
        self._in_body = False  # no body deadline: the linger has its own
        self._disarm_header_deadline()
        self.flow.resume_reading()
        self.transport.write_eof()
        self._drain_deadline = self.loop.call_later(LINGER_SECONDS, self._close)

    def eof_received(self) -> None:
        """The client has ended its side: a lingering connection is done."""
        if self._lingering:
            self._close()

    def _linger(self) -> None:
        if self._write_deadline is None and self.transport.get_write_buffer_size():
            self._write_deadline = self.loop.call_later(self.send_timeout, self._write_deadline_passed)

    def _unsent(self) -> int:
        """Bytes of responses not yet taken by the client: ours and the kernel's (Linux)."""
        pending = self.transport.get_write_buffer_size()
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                queued = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
                pending += struct.unpack("i", queued)[0]
            except OSError:
                pass
        return pending

    def _close_when_taken(self) -> None:
        """Close an idle connection once the client has taken its last response, within a bound.

        A plain close leaves what the kernel still holds to be sent for as long as the client
        reads at all, however slowly (a slow read). The client gets ``send_timeout`` plus one
        second per ``body_min_rate`` bytes still pending, then the connection is reset.
        """
        self._disarm_header_deadline()
        self._unset_keepalive_if_required()
        if self._drain_deadline is not None:
            return  # already closing
        pending = self._unsent()
        if not pending:
            self._close()
            return
        self.flow.pause_reading()  # no new request on a connection that is closing
        deadline = self.loop.time() + self.send_timeout + pending / self.body_min_rate
        self._drain_check(deadline)

    def _drain_check(self, deadline: float) -> None:
        self._drain_deadline = None
        if self.transport.is_closing():
            return
        if not self._unsent():
            self._close()
            return
        now = self.loop.time()
        if now >= deadline:
            self._reset()
            return
        self._drain_deadline = self.loop.call_later(min(1.0, deadline - now), self._drain_check, deadline)

    def _reset(self) -> None:
        """Drop the connection and whatever the kernel still holds for it (a TCP reset)."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    # Headers

    def _arm_header_deadline(self) -> None:
        self._header_bytes = 0
        self._header_due = self.loop.time() + self.header_timeout
        if self._header_deadline is None:
            self._header_deadline = self.loop.call_at(self._header_due, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        # The timer stays: when it fires it finds nothing due, or the next request's deadline.
        self._header_due = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        due = self._header_due
        if due is None or self.transport.is_closing():
            return
        if self.loop.time() < due:  # armed again since this timer was set: wait for the rest
            self._header_deadline = self.loop.call_at(due, self._header_deadline_passed)
            return
        self._header_due = None
        if self._header_bytes:
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)  # part of a request came: say why it ends
            self._close()
        else:
            self._close_when_taken()

    def data_received(self, data: bytes) -> None:
        """Count bytes of a request still waiting for its headers; refuse too many."""
        if self._lingering:
            return  # the rest of a refused body
        started_in_body = self._in_body
        self._message_ended = False
        super().data_received(data)
        # Only bytes that are all headers count: not a chunk that began in a body (the rest
        # of a body after an early response is no one's headers), nor one that ended a
        # message (its start was that message's body).
        if (
            self._header_due is not None
            and not started_in_body
            and not self._in_body
            and not self._message_ended
            and not self.transport.is_closing()
        ):
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._disarm_header_deadline()
                self.transport.write(_HEADERS_TOO_LARGE)
                self._close()

    def on_headers_complete(self) -> None:
        """Headers arrived in time: the body's own deadline starts now."""
        self._disarm_header_deadline()
        existing = self.cycle
        super().on_headers_complete()
        if self.cycle is not existing and self.cycle is not None and not self.cycle.response_complete:
            # Its task has not run yet: the cycle writes through the holder from its first byte.
            self.cycle.transport = _HeadWithBody(  # type: ignore[assignment]
                self.transport, self.loop, self._close_after_answer
            )
            self.cycle.scope.setdefault("extensions", {})[END_CONNECTION] = self._end_extension
        self._in_body = True
        self._body_started = self.loop.time()
        self._body_bytes = 0
        if self._body_deadline is None:
            self._body_deadline = self.loop.call_later(self.body_timeout, self._body_deadline_passed)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        """Answer early when the port's application can; otherwise start the request's task."""
        if self._stopping:
            cycle.keep_alive = False  # the answer says "connection: close" and the connection ends
        early = self._early
        if cycle.waiting_for_100_continue:
            _close_unless_continued(cycle)  # and no early answer: it would have to do the same
        # Not at the cap (uvicorn passes its 503 app then), nor past a client not reading.
        elif early is not None and app is self.app and not self.flow.write_paused and not self.pipeline:
            answer = early(self._forwarded(cycle.scope))
            if answer is not None:
                self._answer_early(cycle, answer)
                return
        # The task starts in a copy of this context in which client_gone() reads this cycle.
        contextvars.copy_context().run(self._start_watched_task, cycle, app)

    def _start_watched_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        watching(lambda: cycle.disconnected)
        super()._start_asgi_task(cycle, app)

    def _forwarded(self, scope: Scope) -> Scope:
        """The scope as the application would see it: scheme and client from a trusted proxy."""
        if self.forwarded is None:
            return scope
        scope = dict(scope)  # the normal path must still get the scope as it came
        # uvicorn's own middleware, over an application that returns at once: it rewrites the
        # scope in place and never waits, so the coroutine ends on its first step.
        step = self.forwarded(scope, None, None)
        try:
            step.send(None)
        except StopIteration:
            pass
        else:  # pragma: no cover - the middleware waited for something
            step.close()
        return scope

    def _answer_early(self, cycle: RequestResponseCycle, answer: EarlyAnswer) -> None:
        """Write a whole answer in one go and finish the cycle as a response sent by a task would."""
        cycle.response_started = True
        close = b"" if cycle.keep_alive else b"connection: close\r\n"
        date = header_lines(self.server_state.default_headers)
        status = STATUS_LINE[answer.status]
        self.transport.write(b"".join((status, date, answer.headers, close, b"\r\n", answer.body)))
        cycle.response_complete = True
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()

    # Body

    def on_body(self, body: bytes) -> None:
        """Count body bytes: each one earns the client a little more time."""
        self._body_bytes += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        """The body is in: no more deadline until the response has gone."""
        self._in_body = False  # the body timer, when it fires, finds nothing to time
        self._message_ended = True
        super().on_message_complete()
        # A response sent before the body was read (a 404 or 413 to a large POST) is
        # already complete: the next request's headers start now.
        if self.cycle is not None and self.cycle.response_complete and not self.transport.is_closing():
            self._arm_header_deadline()

    def _body_deadline_passed(self) -> None:
        self._body_deadline = None
        if not self._in_body or self.transport.is_closing():
            return
        allowed = self._body_started + self.body_timeout + self._body_bytes / self.body_min_rate
        now = self.loop.time()
        if self.flow.read_paused:
            # The application is not reading yet (flow control), which is not the client's
            # slowness: the grace period starts again.
            self._body_started = now - self._body_bytes / self.body_min_rate
            allowed = now + self.body_timeout
        if now < allowed:
            self._body_deadline = self.loop.call_later(allowed - now, self._body_deadline_passed)
            return
        if self.cycle is not None and not self.cycle.response_started:
            self.transport.write(REQUEST_TIMEOUT_RESPONSE)
        self._end_connection()

    def _end_connection(self) -> None:
        """End the request whose body is arriving: its application sees the client gone, the connection ends.

        Only the newest request can still be receiving its body (a pipelined one behind it
        has not been read yet), so it is ``self.cycle``.
        """
        cycle = self.cycle
        if cycle is not None:
            # uvicorn then drops whatever the application still sends, and does not report
            # a response left incomplete: the application writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        if not self.transport.is_closing():
            self._close()

    # Response

    def on_response_complete(self) -> None:
        """Start the clock for the next request, once this one's body has been read too."""
        super().on_response_complete()
        if self.transport.is_closing():
            self._linger()
        elif not self._in_body and self.cycle.response_complete:
            # (A pipelined request still being answered has had its headers already.)
            self._arm_header_deadline()

    def pause_writing(self) -> None:
        """The client has stopped taking the response: it has ``send_timeout`` to resume."""
        super().pause_writing()
        if self._write_deadline is None:
            self._write_deadline = self.loop.call_later(self.send_timeout, self._write_deadline_passed)

    def resume_writing(self) -> None:
        """The client took enough of the response: the write clock stops."""
        super().resume_writing()
        if self._write_deadline is not None and not self.transport.is_closing():
            self._write_deadline.cancel()
            self._write_deadline = None

    def _write_deadline_passed(self) -> None:
        self._write_deadline = None
        # Dropping the connection wakes whatever waits to write to it (uvicorn's drain).
        self._reset()

    def timeout_keep_alive_handler(self) -> None:
        """Close an idle keep-alive connection without waiting for ever for it to be read."""
        if not self.transport.is_closing():
            self._close_when_taken()

    def send_400_response(self, msg: str) -> None:
        """Answer a request the parser refused, without waiting for ever to flush it."""
        super().send_400_response(msg)
        self._linger()


def _close_unless_continued(cycle: RequestResponseCycle) -> None:
    """Close the connection after a response begun before the client was told to send its body.

    A client sending ``Expect: 100-continue`` waits for the 100 that uvicorn writes on the
    application's first ``receive()``. Answered without it, the client may send the body
    after all (curl gives up waiting after a second) or never: the bytes that follow could
    be either that body or its next request, so the connection cannot be reused (Go's
    net/http decides the same). Once the 100 has gone, or the whole body is in, keep-alive
    stays as it was.
    """
    send = cycle.send

    async def send_or_close(message: Message) -> None:
        if cycle.waiting_for_100_continue and cycle.more_body:
            cycle.keep_alive = False  # uvicorn adds "connection: close" and closes after the answer
        await send(message)  # type: ignore[arg-type]

    cycle.send = send_or_close  # type: ignore[method-assign]


class _HeadWithBody:
    """The transport as one response cycle writes to it: its first write (the head) waits for the next."""

    __slots__ = ("_close", "_first", "_held", "_loop", "_transport")

    def __init__(
        self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, close: Callable[[], None]
    ) -> None:
        self._transport = transport
        self._loop = loop
        self._close = close
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        """Hold the head until the body's first write (or the loop's next turn); pass the rest."""
        if self._first:
            self._first = False
            self._held = data
            self._loop.call_soon(self.flush)  # a head is never kept waiting for a slow body
            return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        """Write the head now if it is still held."""
        if self._held is not None:
            held, self._held = self._held, None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        """Close after the held head (a response to HEAD has no body to carry it)."""
        self.flush()
        self._close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def deadline_protocol(
    *,
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
    body_min_rate: float = BODY_MIN_RATE,
    send_timeout: float = SEND_TIMEOUT,
    max_connections: int | None = None,
    refused_connections: Counter[int] | None = None,
    early_for: Callable[[int], Early | None] | None = None,
    forwarded: ASGIApp | None = None,
) -> type[DeadlineProtocol]:
    """A DeadlineProtocol class with these bounds and its own count of connections per port."""
    return type(
        "DeadlineProtocol",
        (DeadlineProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "body_min_rate": body_min_rate,
            "send_timeout": send_timeout,
            "max_connections": max_connections,
            "open_connections": Counter(),
            "refused_connections": Counter() if refused_connections is None else refused_connections,
            "early_for": staticmethod(early_for) if early_for is not None else None,
            "forwarded": forwarded,
        },
    )
