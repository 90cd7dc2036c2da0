"""The generic composite server: several applications, one per port, in one uvicorn process.

It imports nothing from the prompt library: anyone's ASGI and WSGI applications run on it.
"""

from composite.server.router import (
    ASGIApp,
    Message,
    Mount,
    PortInUseError,
    PortRouter,
    Receive,
    Scope,
    Send,
    ServerError,
    bind_sockets,
    make_server,
    wsgi_app,
)

__all__ = [
    "ASGIApp",
    "Message",
    "Mount",
    "PortInUseError",
    "PortRouter",
    "Receive",
    "Scope",
    "Send",
    "ServerError",
    "bind_sockets",
    "make_server",
    "wsgi_app",
]
