"""``composite serve``: anyone's ASGI and WSGI applications, one per port, in one process.

    composite serve --mount 12000=mypkg.api:app --mount 12001=wsgi:mypkg.web:app

Options on the command line win over the same options in ``--config FILE`` (TOML);
mounts from both are served together. A bad mount or option is one line on stderr and
exit status 2; a failure to start (a port in use, an application whose startup fails)
is one line and exit status 3.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import socket
import tomllib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from composite.server.asgi import plain_response
from composite.server.limits import BodyLimit
from composite.server.logs import LOG_LEVELS, configure_logging
from composite.server.mounts import (
    MountError,
    MountSpec,
    SplitSpec,
    check_ports,
    mount_from_table,
    parse_mount_flag,
    parse_split_flag,
    split_from_table,
)
from composite.server.options import SERVER_OPTIONS, add_server_arguments, load_env_file, server_options
from composite.server.pathsplit import PathSplit
from composite.server.reload import run_with_reload
from composite.server.rootpath import RootPath
from composite.server.router import Mount, PortRouter, ServerError, wsgi_app
from composite.server.run import EXIT_STARTUP, EXIT_USAGE, ServeOptions, bind, fail, serve
from composite.server.targets import TargetError, load_application

log = logging.getLogger("composite.server")

_TOP_LEVEL = (
    "host",
    "app_dir",
    "database",
    "log_level",
    "shutdown_timeout",
    "forwarded_allow_ips",
    "mount",
    "split",
    *SERVER_OPTIONS,
    "env_file",
)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``composite serve``."""
    parser.add_argument(
        "--mount",
        action="append",
        default=[],
        metavar="PORT=TARGET[,OPTION=VALUE...]",
        help="serve TARGET ([asgi:|wsgi:]module:attribute, or module:factory() to call a factory) on "
        "PORT; repeatable. Options: name=NAME, threads=N (a WSGI mount's thread pool, default 16), "
        "body-limit=SIZE|off (default 1m), lifespan=on|off (default on), root-path=/PREFIX (the prefix a "
        "proxy removed, as uvicorn's --root-path). ASGI or WSGI is detected "
        "unless forced with the prefix.",
    )
    parser.add_argument(
        "--split",
        action="append",
        default=[],
        metavar="PORT=PREFIX:MOUNT[,PREFIX:MOUNT...]",
        help="also serve several mounts on one PORT, chosen by path prefix as nginx locations do "
        "(PREFIX and PREFIX/... go to MOUNT, a mount's name or port; '/' takes the rest), "
        "e.g. 8080=/api:12000,/:12001; repeatable",
    )
    parser.add_argument(
        "--host",
        action="append",
        help="address every port listens on (default 127.0.0.1); repeatable: each port listens on every one",
    )
    parser.add_argument("--app-dir", help="directory put first on the import path (default: the current one)")
    parser.add_argument(
        "--database",
        metavar="PATH",
        help="open one DuckDB file for every mount to share; applications reach it with "
        "composite.db.shared_database()",
    )
    parser.add_argument(
        "--reload",
        action="store_true",
        help="development: restart when a file under the app directory changes (every port stays open)",
    )
    parser.add_argument("--config", metavar="FILE", type=Path, help="TOML file with the same options")
    parser.add_argument("--log-level", choices=LOG_LEVELS, help="default info")
    parser.add_argument("--shutdown-timeout", type=float, metavar="SECONDS", help="default 10")
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="proxies whose X-Forwarded-* headers are trusted (default: none)",
    )
    add_server_arguments(parser)


def read_config(path: Path) -> dict[str, Any]:
    """The options in a TOML config file; MountError with the reason when it cannot be used."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MountError(f"--config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MountError(f"--config {path}: not valid TOML: {exc}") from None
    data = _underscored(data, f"--config {path}")
    unknown = set(data) - set(_TOP_LEVEL)
    if unknown:
        raise MountError(
            f"--config {path}: unknown option {sorted(unknown)[0]!r} (known: {', '.join(_TOP_LEVEL)})"
        )
    for table in ("mount", "split"):
        if not isinstance(data.get(table, []), list):
            raise MountError(f"--config {path}: {table} must be an array of tables ([[{table}]])")
        data[table] = [
            _underscored(entry, f"--config {path}: {table} {index + 1}") if isinstance(entry, dict) else entry
            for index, entry in enumerate(data.get(table, []))
        ]
    return data


def _underscored(table: dict[str, Any], where: str) -> dict[str, Any]:
    """The table with option names as Python spells them: ``app-dir``, as the flag says, is ``app_dir``."""
    result: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in result:
            raise MountError(f"{where}: {name} is given twice ({name.replace('_', '-')} and {name})")
        result[name] = value
    return result


@dataclass(frozen=True)
class Plan:
    """Everything ``composite serve`` was asked to run."""

    mounts: list[MountSpec]
    splits: list[SplitSpec]
    options: ServeOptions
    app_dir: str
    database: str | None
    env_file: str | None = None


def collect(args: argparse.Namespace) -> Plan:
    """Mounts, splits and options from the config file and the flags (flags win)."""
    config = read_config(args.config) if args.config else {}
    mounts = [
        mount_from_table(table, f"--config {args.config}: mount {index + 1}")
        for index, table in enumerate(config.get("mount", []))
    ]
    mounts += [parse_mount_flag(text) for text in args.mount]
    splits = [
        split_from_table(table, f"--config {args.config}: split {index + 1}")
        for index, table in enumerate(config.get("split", []))
    ]
    splits += [parse_split_flag(text) for text in args.split]
    check_ports(mounts, splits)

    def pick(name: str, default: Any) -> Any:
        value = getattr(args, name)
        return value if value is not None else config.get(name, default)

    log_level = str(pick("log_level", "info")).lower()
    if log_level not in LOG_LEVELS:
        raise MountError(f"log_level: must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    try:
        shutdown_timeout = float(pick("shutdown_timeout", 10.0))
    except (TypeError, ValueError):
        raise MountError("shutdown_timeout: must be a number of seconds") from None
    options = ServeOptions(
        host=_hosts(pick("host", "127.0.0.1")),
        log_level=log_level,
        shutdown_timeout=shutdown_timeout,
        forwarded_allow_ips=str(pick("forwarded_allow_ips", "")),
        **server_options(pick),
    )
    database = pick("database", None)
    env_file = pick("env_file", None)
    return Plan(
        mounts,
        splits,
        options,
        str(pick("app_dir", ".")),
        str(database) if database else None,
        str(env_file) if env_file else None,
    )


def _hosts(value: Any) -> str | tuple[str, ...]:
    """One address, or several from a repeated --host or a TOML list (duplicates dropped)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list) or not value or not all(isinstance(host, str) for host in value):
        raise MountError("host: must be an address or a list of addresses")
    hosts = tuple(dict.fromkeys(value))
    return hosts[0] if len(hosts) == 1 else hosts


def build_mount(spec: MountSpec, app_dir: str | None) -> Mount:
    """Load one mount's application and wrap it in its limits."""
    app, kind = load_application(spec.target, app_dir)
    if kind == "wsgi":
        # The WSGI adapter streams bodies (chunked ones too) and answers 413 past the limit.
        asgi = wsgi_app(app, spec.threads, max_body_bytes=spec.body_limit)
    elif spec.body_limit is not None:
        # Streamed: the body reaches the application as it arrives, counted against the limit.
        asgi = BodyLimit(app, spec.body_limit)
    else:
        asgi = app
    if spec.root_path:
        asgi = RootPath(asgi, spec.root_path)
    if not spec.lifespan:
        asgi = _WithoutLifespan(asgi)
    return Mount(spec.name, spec.port, asgi)


class _WithoutLifespan:
    """Keeps lifespan events from an application whose mount has ``lifespan=off``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return  # the router treats an application that returns at once as one without lifespan
        await self.app(scope, receive, send)


def _database_lifespan(path: str, option: str) -> Any:
    from composite import db as shared

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        # DuckDB calls block: keep them off the event loop that serves every port.
        await asyncio.to_thread(shared.open_shared, Path(path), option)
        try:
            yield
        finally:
            await asyncio.to_thread(shared.close_shared)

    return lifespan


def build_split(spec: SplitSpec, router: PortRouter) -> Mount:
    """One port served by several mounts' applications, chosen by path prefix."""
    routes = []
    for prefix, key in spec.routes:
        try:
            routes.append((prefix, router.served_app(key)))
        except KeyError:
            raise MountError(f"split on port {spec.port}: no mount named or on port {key!r}") from None
    return Mount(spec.name, spec.port, PathSplit(routes, default=dict(routes)["/"]))


def _build(args: argparse.Namespace) -> tuple[PortRouter, Plan]:
    """The router for the parsed arguments; MountError or TargetError when they are wrong."""
    plan = collect(args)
    configure_logging(plan.options.log_level)
    if plan.env_file:
        load_env_file(plan.env_file)  # before any application module is imported
    mounts = [build_mount(spec, plan.app_dir) for spec in plan.mounts]
    # The option the path came from, named when another process holds the file.
    option = "--database" if args.database else f"database in --config {args.config}"
    router = PortRouter(mounts, lifespan=_database_lifespan(plan.database, option) if plan.database else None)
    for spec in plan.splits:
        # Through the router's own view of each mount, so requests see that mount's lifespan state.
        router.add(build_split(spec, router))
    return router, plan


def serve_command(args: argparse.Namespace) -> int:
    """Run ``composite serve`` with parsed arguments; return the exit status."""
    try:
        router, plan = _build(args)
    except (MountError, TargetError) as exc:
        return fail(str(exc), EXIT_USAGE)
    if not args.reload:
        return serve(router, plan.options)
    try:
        sockets = bind(router, plan.options)
    except ServerError as exc:
        return fail(str(exc), EXIT_STARTUP)
    run_with_reload(functools.partial(_serve_reloaded, args), sockets, [plan.app_dir])
    return 0


def _serve_reloaded(args: argparse.Namespace, sockets: list[socket.socket]) -> None:
    """A reload child: rebuild every application from the same arguments, serve the parent's sockets."""
    try:
        router, plan = _build(args)
    except (MountError, TargetError) as exc:
        # The supervisor keeps watching and the next save tries again; meanwhile every port
        # answers with the error, where it would otherwise hold connections unanswered.
        fail(str(exc), EXIT_USAGE)
        configure_logging(args.log_level or "info")
        serve(_reload_failed(str(exc), sockets), ServeOptions(), sockets)
        return
    serve(router, plan.options, sockets)


def _reload_failed(error: str, sockets: list[socket.socket]) -> PortRouter:
    """A router answering 503 with ``error`` on every TCP socket, until the next change is saved."""
    text = f"The application did not load after the last change:\n\n{error}\n\nSave a fix to reload.\n"

    async def unavailable(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011})
        elif scope["type"] == "http":
            await plain_response(scope, send, 503, text, (b"retry-after", b"1"))

    ports = dict.fromkeys(s.getsockname()[1] for s in sockets if s.family != socket.AF_UNIX)
    return PortRouter([Mount("reload", port, unavailable) for port in ports])


def main(argv: Sequence[str] | None = None) -> int:
    """``composite serve`` on its own (the ``composite`` command adds the site's commands)."""
    parser = argparse.ArgumentParser(prog="composite serve", description=__doc__.split("\n\n")[0])
    add_serve_arguments(parser)
    try:
        return serve_command(parser.parse_args(argv))
    except KeyboardInterrupt:
        return EXIT_STARTUP
