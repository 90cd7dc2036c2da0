"""The server options of ``composite serve`` that users of uvicorn and gunicorn expect.

Each option is one flag and the same name in ``--config`` (dashes or underscores); the
flag wins over the file. Every bad value is a ``MountError``: one line naming the option.
Defaults are stated once, in ``ServeOptions`` (``composite.server.run``).
"""

from __future__ import annotations

import argparse
import os
import re
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from composite.server.mounts import MountError, parse_size
from composite.server.run import EXIT_RECYCLE, ServeOptions
from composite.server.wsgi import SERVER_SOFTWARE

_DEFAULTS = ServeOptions()

# The names ``--config`` accepts for these options, as Python spells them.
SERVER_OPTIONS = (
    "timeout_keep_alive",
    "limit_concurrency",
    "backlog",
    "max_requests",
    "header",
    "server_header",
    "ssl_certfile",
    "ssl_keyfile",
    "access_log",
    "ws_max_size",
    "ws_ping_interval",
    "ws_ping_timeout",
)

# RFC 9110's token: what a header name may be made of.
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Printable Latin-1 and tabs: a CR or LF would let a value start a header (or a body) of its own.
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")
# Written by the server for each response: a fixed value would contradict it.
_SERVER_OWNED = ("content-length", "transfer-encoding", "connection", "date")

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
    parser.add_argument(
        "--header",
        action="append",
        metavar="NAME:VALUE",
        help="add this header to every response on every port; repeatable",
    )
    parser.add_argument(
        "--server-header",
        action=argparse.BooleanOptionalAction,
        help=f"send 'Server: {SERVER_SOFTWARE}' (default: none, so scanners are not told the version)",
    )
    parser.add_argument(
        "--ssl-certfile", metavar="FILE", help="serve every port over TLS with this PEM certificate (chain)"
    )
    parser.add_argument(
        "--ssl-keyfile",
        metavar="FILE",
        help="the certificate's private key (default: in the certificate's file)",
    )
    parser.add_argument(
        "--ws-max-size",
        metavar="SIZE",
        help="largest websocket message taken (bytes, 512k, 16m); a larger one closes "
        f"the connection with 1009 (default {_DEFAULTS.ws_max_size // 2**20}m)",
    )
    parser.add_argument(
        "--ws-ping-interval",
        metavar="SECONDS",
        help=f"ping each websocket client this often, or off (default {_DEFAULTS.ws_ping_interval:g})",
    )
    parser.add_argument(
        "--ws-ping-timeout",
        metavar="SECONDS",
        help="close a websocket whose client has not answered a ping in this long, or off "
        f"(default {_DEFAULTS.ws_ping_timeout:g})",
    )
    add_log_arguments(parser)
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="set the variables of this .env file before the applications load (the environment wins)",
    )


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the logging options."""
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        help="log one line per request, naming its mount (default: on, at log level info)",
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
    if (value := pick("header", None)) is not None:
        options["headers"] = _headers(value)
    for name in ("server_header", "access_log"):
        if (value := pick(name, None)) is not None:
            options[name] = _boolean(value, name.replace("_", "-"))
    options.update(_ws_options(pick))
    certfile, keyfile = pick("ssl_certfile", None), pick("ssl_keyfile", None)
    if keyfile is not None and certfile is None:
        raise MountError("ssl-keyfile: needs ssl-certfile, the certificate it belongs to")
    if certfile is not None:
        _check_certificate(str(certfile), None if keyfile is None else str(keyfile))
        options["ssl_certfile"] = str(certfile)
        options["ssl_keyfile"] = None if keyfile is None else str(keyfile)
    return options


def _ws_options(pick: Pick) -> dict[str, Any]:
    """The websocket options given, as uvicorn's Config takes them."""
    options: dict[str, Any] = {}
    if (value := pick("ws_max_size", None)) is not None:
        size = parse_size(value, "ws-max-size")
        if size is None:
            raise MountError(f"ws-max-size: must be a size of at least 1 byte, got {value!r}")
        options["ws_max_size"] = size
    for name in ("ws_ping_interval", "ws_ping_timeout"):
        if (value := pick(name, None)) is not None:
            options[name] = _seconds_or_off(value, name.replace("_", "-"))
    return options


def load_env_file(path: str) -> None:
    """Put a .env file's variables into the environment, as uvicorn's --env-file: set ones stay."""
    if not Path(path).is_file():
        raise MountError(f"env-file: no such file {path}")
    for name, value in dotenv_values(path).items():
        if value is not None:
            os.environ.setdefault(name, value)


def _check_certificate(certfile: str, keyfile: str | None) -> None:
    """Load the pair as uvicorn will, so that a bad file is one line before any port is bound."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as exc:
        raise MountError(f"ssl: no such file {exc.filename or certfile}") from None
    except (OSError, ssl.SSLError) as exc:
        key = f" with key {keyfile}" if keyfile else ""
        raise MountError(f"ssl: cannot use certificate {certfile}{key}: {exc.strerror or exc}") from None


def _headers(value: Any) -> tuple[tuple[str, str], ...]:
    """Headers from repeated ``NAME:VALUE`` flags, a TOML list of them, or a TOML table."""
    if isinstance(value, Mapping):
        pairs = [(str(name), str(text)) for name, text in value.items()]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        pairs = []
        for item in value:
            name, sep, text = item.partition(":")
            if not sep:
                raise MountError(f"header: {item!r} is not NAME:VALUE, e.g. 'X-Frame-Options: DENY'")
            pairs.append((name, text))
    else:
        raise MountError("header: must be a list of 'NAME: VALUE' strings, or a table of names and values")
    headers = []
    for raw_name, raw_text in pairs:
        name, text = raw_name.strip(), raw_text.strip()
        if not _TOKEN.match(name):
            raise MountError(f"header: {name!r} is not a header name")
        if name.lower() in _SERVER_OWNED:
            raise MountError(f"header: {name} is written by the server for each response")
        if not _FIELD_VALUE.match(text):
            raise MountError(f"header: the value of {name} has a character a header cannot carry")
        headers.append((name, text))
    return tuple(headers)


def _boolean(value: Any, option: str) -> bool:
    # Flags give a bool; a config file must too (TOML's true or false), not a string.
    if not isinstance(value, bool):
        raise MountError(f"{option}: must be true or false, got {value!r}")
    return value


def _whole(value: Any, option: str, minimum: int) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < minimum:
        raise MountError(f"{option}: must be a whole number of at least {minimum}, got {value!r}")
    return int(text)


def _seconds_or_off(value: Any, option: str) -> float | None:
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false", "none")):
        return None
    return _seconds(value, option, or_off=True)


def _seconds(value: Any, option: str, or_off: bool = False) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if isinstance(value, bool) or not 0 < seconds < float("inf"):
        off = ", or off" if or_off else ""
        raise MountError(f"{option}: must be a number of seconds above 0{off}, got {value!r}")
    return seconds
