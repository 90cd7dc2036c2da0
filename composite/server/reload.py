"""Development restarts: uvicorn's own reload supervisor over sockets bound once, for every port.

The supervisor (watchfiles, from uvicorn[standard]) keeps the listening sockets and
starts a fresh child process on them after each change, so no port ever stops
accepting connections; the child rebuilds every application from scratch. The
supervisor begins watching once its first child has started (uvicorn's order), so a
change saved in the first second after start is picked up only with the next one.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence

import uvicorn
from uvicorn.supervisors import ChangeReload

log = logging.getLogger("composite.server")

# Code, templates, styles and config files: what a developer edits.
WATCHED = ("*.py", "*.html", "*.jinja", "*.css", "*.js", "*.toml", "*.sql")


def run_with_reload(
    target: Callable[..., None], sockets: Sequence[socket.socket], watch: Sequence[str]
) -> None:
    """Run ``target(sockets=...)`` in a child process, restarted whenever a file under ``watch`` changes.

    ``target`` must be picklable (a module-level function or a functools.partial of one):
    the child is spawned, not forked.
    """
    config = uvicorn.Config(
        "composite.server.reload:WATCHED",  # never loaded: the target builds the applications
        reload=True,
        reload_dirs=list(watch),
        reload_includes=list(WATCHED),
        log_config=None,
    )
    log.info("watching %s for changes", ", ".join(watch))
    ChangeReload(config, target=target, sockets=list(sockets)).run()
