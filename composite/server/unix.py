"""Unix-domain listening sockets: reachable only through the file system, mode 0600 by default."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
from pathlib import Path

# sockaddr_un's sun_path is 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107
SOCKET_MODE = 0o600


def bind_unix(path: str, name: str, backlog: int = 128, mode: int = SOCKET_MODE) -> socket.socket:
    """Listen on a Unix socket at ``path`` that only its owner may connect to."""
    from composite.server.router import ServerError  # the router imports this module

    target = Path(path)
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ServerError(f"socket path {path} ({name}) is longer than {MAX_SOCKET_PATH} bytes")
    if target.exists() or target.is_symlink():
        if not stat.S_ISSOCK(target.lstat().st_mode):
            raise ServerError(f"{path} ({name}) exists and is not a socket; remove it or choose another")
        if _answers(path):
            raise ServerError(f"socket {path} ({name}) is in use by another server")
        target.unlink()  # left by a process that did not stop cleanly
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ServerError(
            f"data directory {target.parent} is not writable: {reason} ({name} socket)"
        ) from None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # The file is created by bind() with the umask's mode: narrow it first, so that there is
    # no moment at which another user could connect.
    previous = os.umask(0o777 & ~mode)
    try:
        sock.bind(path)
    except OSError as exc:
        sock.close()
        raise ServerError(f"cannot listen on unix:{path} ({name}): {exc.strerror}") from None
    finally:
        os.umask(previous)
    os.chmod(path, mode)
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def remove_socket_file(path: str) -> None:
    """Remove a socket file this process listened on (at shutdown); nothing else is touched."""
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)


def _answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(path)
        except OSError:
            return False
    return True
