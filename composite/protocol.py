"""uvicorn's HTTP protocol with a deadline for request headers.

uvicorn times out idle keep-alive connections only after a first response, so a
client that connects and sends nothing, or sends its headers a byte at a time,
would hold a connection (and a slot of ``limit_concurrency``) for ever. Here every
request must finish its headers within ``HEADER_TIMEOUT`` seconds of the connection
opening or of the previous response; otherwise the connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = 10.0
_REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that closes connections whose request headers arrive too slowly."""

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
        """Count bytes of a request still waiting for its headers."""
        self._bytes_since_response += len(data)
        super().data_received(data)

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
