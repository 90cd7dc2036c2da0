"""uvicorn's HTTP protocol with a deadline and a size limit for request headers.

uvicorn times out idle keep-alive connections only after a first response, so a
client that connects and sends nothing, or sends its headers a byte at a time,
would hold a connection (and a slot of ``limit_concurrency``) for ever. Here every
request must finish its headers within ``HEADER_TIMEOUT`` seconds of the connection
opening or of the previous response; otherwise the connection is closed.

httptools puts no bound on the size of request headers, so a client could make the
process buffer megabytes of them; beyond ``MAX_HEADER_BYTES`` the answer is 431.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
MAX_HEADER_BYTES = 64 * 1024
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_HEADERS_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\nconnection: close\r\n\r\nRequest headers are too large.\n"
)


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses request headers arriving too slowly or too large."""

    header_timeout = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._bytes_since_response = 0

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._bytes_since_response = 0
        self._header_deadline = self.loop.call_later(self.header_timeout, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _header_deadline_passed(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        if self._bytes_since_response:
            self.transport.write(_REQUEST_TIMEOUT)  # part of a request came: say why it ends
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's headers."""
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        """Count bytes of a request still waiting for its headers; refuse too many."""
        super().data_received(data)
        # The parser has run: if the deadline is still armed, these bytes were all headers.
        if self._header_deadline is not None and not self.transport.is_closing():
            self._bytes_since_response += len(data)
            if self._bytes_since_response > MAX_HEADER_BYTES:
                self._disarm_header_deadline()
                self.transport.write(_HEADERS_TOO_LARGE)
                self.transport.close()

    def on_headers_complete(self) -> None:
        """Headers arrived in time: the body and the application have no such deadline."""
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """Start the clock again for the next request on this keep-alive connection."""
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clock with the connection."""
        self._disarm_header_deadline()
        super().connection_lost(exc)
