"""Mount specifications: which application on which port, with its limits, from flags or TOML.

On the command line a mount is ``PORT=TARGET[,option=value...]``; in a config file it is
a ``[[mount]]`` table with the same names (``port``, ``app``, ``name``, ``threads``,
``body_limit``, ``lifespan``, ``root_path``). Every problem is a ``MountError`` naming the mount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from composite.server.targets import Target, TargetError, parse_target

DEFAULT_THREADS = 16
DEFAULT_BODY_LIMIT = 1024 * 1024
_SIZE = re.compile(r"^(\d+)\s*([kmg]i?b?|b)?$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
_OPTIONS = ("name", "threads", "body_limit", "lifespan", "root_path")
# A path prefix: a slash first and none last, ASCII (uvicorn's rule), nothing a URL would split on.
_ROOT_PATH = re.compile(r"^(/[!$&'()*+;=:@%._~0-9A-Za-z-]+)+$")


class MountError(ValueError):
    """A mount is specified wrongly; the message is one line for the operator."""


@dataclass(frozen=True)
class MountSpec:
    """One application to serve: its port, target and per-mount limits."""

    port: int
    target: Target
    name: str
    threads: int = DEFAULT_THREADS
    body_limit: int | None = DEFAULT_BODY_LIMIT  # None: no limit
    lifespan: bool = True
    root_path: str = ""  # the prefix a proxy removed (see composite.server.rootpath); "" for none


def parse_size(value: Any, what: str) -> int | None:
    """Bytes from ``1048576``, ``512k``, ``1m``, ``1MiB``; None for ``off``/``false``/``0``."""
    if value is False or (isinstance(value, str) and value.strip().lower() in ("off", "false", "none", "0")):
        return None
    if isinstance(value, bool):
        raise MountError(f"{what}: expected a size such as 1m, or off")
    if isinstance(value, int):
        return value or None
    match = _SIZE.match(str(value).strip())
    if not match:
        raise MountError(f"{what}: {value!r} is not a size (use bytes, 512k, 1m, or off)")
    return int(match[1]) * _UNITS[(match[2] or "")[:1].lower()] or None


def _parse_flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise MountError(f"{what}: expected on or off, got {value!r}")


def _parse_port(value: Any, what: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) > 65535:
        raise MountError(f"{what}: {value!r} is not a port number 0-65535")
    return int(text)


def mount_from_table(table: Mapping[str, Any], where: str) -> MountSpec:
    """A mount from a config file's ``[[mount]]`` table (or the parsed flag)."""
    unknown = set(table) - {"port", "app", *_OPTIONS}
    if unknown:
        raise MountError(
            f"{where}: unknown option {sorted(unknown)[0]!r} (known: port, app, {', '.join(_OPTIONS)})"
        )
    if "port" not in table or "app" not in table:
        raise MountError(f"{where}: needs both port and app")
    port = _parse_port(table["port"], f"{where}: port")
    try:
        target = parse_target(str(table["app"]))
    except TargetError as exc:
        raise MountError(f"{where}: {exc}") from None
    threads_raw = table.get("threads", DEFAULT_THREADS)
    if isinstance(threads_raw, bool) or not str(threads_raw).isdigit() or not 1 <= int(threads_raw) <= 1000:
        raise MountError(f"{where}: threads must be a whole number 1-1000, got {threads_raw!r}")
    return MountSpec(
        port=port,
        target=target,
        name=str(table.get("name") or f"{target.module}:{target.attribute}"),
        threads=int(threads_raw),
        body_limit=parse_size(table.get("body_limit", DEFAULT_BODY_LIMIT), f"{where}: body_limit"),
        lifespan=_parse_flag(table.get("lifespan", True), f"{where}: lifespan"),
        root_path=_parse_root_path(table.get("root_path", ""), f"{where}: root_path"),
    )


def _parse_root_path(value: Any, what: str) -> str:
    text = value if isinstance(value, str) else None
    if text is None or (text and not _ROOT_PATH.match(text)):
        raise MountError(f"{what}: {value!r} is not a path prefix such as /app (a '/' first, none last)")
    return text


def parse_mount_flag(text: str) -> MountSpec:
    """A mount from ``PORT=TARGET[,option=value...]``: options as ``[[mount]]`` names them, dashes or not."""
    where = f"--mount {text}"
    port, sep, rest = text.partition("=")
    if not sep:
        raise MountError(f"{where}: expected PORT=TARGET, e.g. 12000=mypkg.api:app")
    target, *options = rest.split(",")
    table: dict[str, Any] = {"port": port, "app": target}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep:
            raise MountError(f"{where}: option {option!r} needs a value (name=value)")
        table[key.strip().replace("-", "_")] = value.strip()
    return mount_from_table(table, where)


def check_ports(mounts: Sequence[MountSpec], splits: Sequence[SplitSpec] = ()) -> None:
    """Refuse two mounts on one (non-zero) port, and a server with no mount at all."""
    if not mounts:
        raise MountError("nothing to serve: give at least one --mount PORT=TARGET (or [[mount]] in --config)")
    seen: dict[int, str] = {}
    for port, what in [(m.port, str(m.target)) for m in mounts] + [(s.port, s.name) for s in splits]:
        if port and port in seen:
            raise MountError(f"port {port} has two mounts: {seen[port]} and {what}")
        seen[port] = what


@dataclass(frozen=True)
class SplitSpec:
    """A port split by path prefix between mounts named by name or port (``"/"`` is the rest)."""

    port: int
    routes: tuple[tuple[str, str], ...]
    name: str


def split_from_table(table: Mapping[str, Any], where: str) -> SplitSpec:
    """A split from a config file's ``[[split]]`` table: ``port`` and ``routes = {"/api" = "api"}``."""
    unknown = set(table) - {"port", "routes", "name"}
    if unknown:
        raise MountError(f"{where}: unknown option {sorted(unknown)[0]!r} (known: port, routes, name)")
    routes = table.get("routes")
    if "port" not in table or not isinstance(routes, Mapping) or not routes:
        raise MountError(f'{where}: needs a port and routes such as {{"/api" = "api", "/" = "web"}}')
    port = _parse_port(table["port"], f"{where}: port")
    pairs = []
    for prefix, mount in routes.items():
        if not str(prefix).startswith("/") or (prefix != "/" and str(prefix).endswith("/")):
            raise MountError(f"{where}: path prefix {prefix!r} must start with '/' and not end with one")
        pairs.append((str(prefix), str(mount)))
    if "/" not in dict(pairs):
        raise MountError(f"{where}: needs a route for '/' (everything no other prefix matches)")
    return SplitSpec(port, tuple(pairs), str(table.get("name") or f"split:{port}"))


def parse_split_flag(text: str) -> SplitSpec:
    """A split from ``PORT=PREFIX:MOUNT[,PREFIX:MOUNT...]``, e.g. ``8080=/api:api,/:web``."""
    where = f"--split {text}"
    port, sep, rest = text.partition("=")
    if not sep or not rest:
        raise MountError(f"{where}: expected PORT=PREFIX:MOUNT,..., e.g. 8080=/api:api,/:web")
    routes: dict[str, str] = {}
    for part in rest.split(","):
        prefix, sep, mount = part.strip().rpartition(":")
        if not sep or not prefix or not mount:
            raise MountError(f"{where}: {part!r} is not PREFIX:MOUNT")
        routes[prefix] = mount
    return split_from_table({"port": port, "routes": routes}, where)
