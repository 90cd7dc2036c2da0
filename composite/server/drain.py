"""At a stop, answer the connections the kernel has queued before the listening sockets close.

A connection completes its handshake in the kernel and waits in the listen backlog, often
with its whole request sent, until the server accepts it. uvicorn's shutdown closes the
listening sockets first, and closing a listening socket resets every connection still
queued on it: the client (nginx: a 502) gets no answer to a request it has already sent.
Here the backlog is accepted, without waiting, just before each listening socket closes,
and each connection gets one last request answered with ``Connection: close`` (see
``DeadlineProtocol.stopping``) within the graceful shutdown's bound.

What is left is the moment between the last accept finding the queue empty and the close
(a few system calls): a connection that completes its handshake then is still reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn

from composite.server.protocol import DeadlineProtocol

log = logging.getLogger("composite.server")


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose shutdown answers the queued connections before closing the listeners."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        # The loop keeps only a weak reference to a task: the drained connections' are held here.
        self._drain_tasks: set[asyncio.Task[None]] = set()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Accept what each listening socket has queued, close it, then shut down as uvicorn does."""
        drained = self.drain_backlog()
        if drained:
            log.info("answering %d connection(s) queued at the stop", drained)
        await super().shutdown(sockets=sockets)

    def drain_backlog(self) -> int:
        """Accept every connection queued on each listening socket and close it; return the count."""
        loop = asyncio.get_running_loop()
        accepted = 0
        for server in getattr(self, "servers", []):
            for listener in server.sockets:
                # A duplicate of the listening descriptor: asyncio hands out only a wrapper
                # that cannot accept, and this one is closed with the original below.
                with socket.fromfd(listener.fileno(), listener.family, listener.type) as sock:
                    sock.setblocking(False)
                    # Bounded by the backlog: the kernel queues no more than that.
                    for _ in range(self.config.backlog):
                        try:
                            conn, _ = sock.accept()
                        except OSError:  # BlockingIOError: the queue is empty
                            break
                        accepted += 1
                        self._serve_last_request(loop, conn)
            # Closed at once, so that nothing is queued after the queue was found empty
            # (uvicorn's own close then finds it closed).
            server.close()
        return accepted

    def _serve_last_request(self, loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
        conn.setblocking(False)
        task = loop.create_task(self._connect(loop, conn))
        self._drain_tasks.add(task)
        task.add_done_callback(self._drain_tasks.discard)

    async def _connect(self, loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
        def protocol() -> asyncio.Protocol:
            made = self.config.http_protocol_class(  # type: ignore[call-arg]
                config=self.config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=loop,
            )
            if isinstance(made, DeadlineProtocol):
                made.stopping()
            return made

        try:
            await loop.connect_accepted_socket(protocol, conn, ssl=self.config.ssl)
        except OSError:  # the client went away (or a TLS handshake failed): nothing to answer
            with contextlib.suppress(OSError):
                conn.close()
