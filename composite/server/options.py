"""The server options of ``composite serve`` that users of uvicorn and gunicorn expect.

Each option is one flag and the same name in ``--config`` (dashes or underscores); the
flag wins over the file. Every bad value is a ``MountError``: one line naming the option.
Defaults are stated once, in ``ServeOptions`` (``composite.server.run``).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from composite.server.mounts import MountError
from composite.server.run import EXIT_RECYCLE, ServeOptions

_DEFAULTS = ServeOptions()

# The names ``--config`` accepts for these options, as Python spells them.
SERVER_OPTIONS = (
    "timeout_keep_alive",
    "limit_concurrency",
    "backlog",
    "max_requests",
)

Pick = Callable[[str, Any], Any]


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the options in ``SERVER_OPTIONS`` (values are checked by ``server_options``)."""
    parser.add_argument(
        "--timeout-keep-alive",
        metavar="SECONDS",
        help="close a keep-alive connection idle this long after its last answer "
        f"(default {_DEFAULTS.timeout_keep_alive:g})",
    )
    parser.add_argument(
        "--limit-concurrency",
        metavar="N",
        help="open connections each port takes; a request on one beyond them gets 503 (default: no cap)",
    )
    parser.add_argument(
        "--backlog",
        metavar="N",
        help=f"connections the kernel queues on each port before accept (default {_DEFAULTS.backlog})",
    )
    parser.add_argument(
        "--max-requests",
        metavar="N",
        help="stop gracefully after about N requests and exit with status "
        f"{EXIT_RECYCLE}, for a supervisor "
        "to start a fresh process (default: never)",
    )


def server_options(pick: Pick) -> dict[str, Any]:
    """ServeOptions' fields for the options given (flag, else config file); absent ones keep defaults."""
    options: dict[str, Any] = {}
    if (value := pick("timeout_keep_alive", None)) is not None:
        options["timeout_keep_alive"] = _seconds(value, "timeout-keep-alive")
    if (value := pick("limit_concurrency", None)) is not None:
        options["max_connections"] = _whole(value, "limit-concurrency", minimum=1)
    if (value := pick("backlog", None)) is not None:
        options["backlog"] = _whole(value, "backlog", minimum=1)
    if (value := pick("max_requests", None)) is not None:
        options["max_requests"] = _whole(value, "max-requests", minimum=1)
    return options


def _whole(value: Any, option: str, minimum: int) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < minimum:
        raise MountError(f"{option}: must be a whole number of at least {minimum}, got {value!r}")
    return int(text)


def _seconds(value: Any, option: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not 0 < seconds < float("inf"):
        raise MountError(f"{option}: must be a number of seconds above 0, got {value!r}")
    return seconds
