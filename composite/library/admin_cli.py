"""``composite admin ...``: operate the running site through its admin socket (ADMIN_SOCKET).

Standard library only (http.client over a Unix socket), so it runs wherever the server runs,
e.g. ``docker compose exec app composite admin stats``.
"""

from __future__ import annotations

import argparse
import getpass
import http.client
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from composite.config import admin_socket_from, environment

EXIT_FAILED = 1  # the server refused or the command failed
EXIT_UNREACHABLE = 3  # no socket, no server, or no permission to connect
TIMEOUT_SECONDS = 3600.0  # a backup of a large database takes minutes


class AdminError(Exception):
    """A command that cannot be done; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.status = status


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("admin", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def call(socket_path: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One request to the admin API; the decoded JSON (or text) answer, or AdminError."""
    connection = _UnixConnection(socket_path, TIMEOUT_SECONDS)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"content-type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
    except FileNotFoundError:
        raise AdminError(
            f"no admin socket at {socket_path}: is the server running?", EXIT_UNREACHABLE
        ) from None
    except PermissionError:
        raise AdminError(
            f"permission denied on {socket_path}: run as the user that runs the server", EXIT_UNREACHABLE
        ) from None
    except ConnectionRefusedError:
        raise AdminError(
            f"nothing answers on {socket_path}: the server is not running", EXIT_UNREACHABLE
        ) from None
    except OSError as exc:
        raise AdminError(f"cannot reach {socket_path}: {exc.strerror or exc}", EXIT_UNREACHABLE) from None
    finally:
        connection.close()
    is_json = response.getheader("content-type", "").startswith("application/json")
    answer = json.loads(data) if is_json else data.decode()
    if response.status >= 400:
        detail = answer.get("detail", answer) if isinstance(answer, dict) else answer
        raise AdminError(str(detail))
    return answer


def _password(args: argparse.Namespace) -> str:
    """From --password-stdin (one line) or a prompt; never from the command line (shell history)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise AdminError("give the password on standard input with --password-stdin")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise AdminError("the two passwords differ")
    return first


def _run(args: argparse.Namespace, sock: str) -> tuple[Any, str]:  # noqa: PLR0911 - one per command
    """Do the command; return its answer and the plain-text form of it."""
    command = args.admin_command
    user = quote(getattr(args, "username", "") or "", safe="")
    if command == "stats":
        answer = call(sock, "GET", "/stats")
        lines = [f"{k}: {v}" for k, v in answer.items() if k != "rows"]
        lines += [f"rows {name}: {count}" for name, count in answer["rows"].items()]
        return answer, "\n".join(lines)
    if command == "checkpoint":
        answer = call(sock, "POST", "/checkpoint")
        return answer, f"checkpointed: file {answer['file_bytes']} bytes, wal {answer['wal_bytes']} bytes"
    if command == "backup":
        answer = call(sock, "POST", "/backup", {"path": str(Path(args.path).absolute())})
        tables = sum(answer["rows"].values())
        return answer, (
            f"backup {answer['path']}: {answer['size_bytes']} bytes, {len(answer['rows'])} tables, "
            f"{tables} rows, verified, in {answer['seconds']:.1f}s"
        )
    if command == "metrics":
        answer = call(sock, "GET", "/metrics")
        return answer, answer.rstrip("\n")
    if command == "users":
        answer = call(sock, "GET", "/users")
        lines = [
            f"{u['id']:>6}  {u['username']:<32} {'disabled' if u['disabled'] else 'active  '}"
            f"  prompts={u['prompts']} tokens={u['tokens']} sessions={u['sessions']}"
            for u in answer
        ]
        return answer, "\n".join(lines) if lines else "no users"
    if command == "create-user":
        answer = call(sock, "POST", "/users", {"username": args.username, "password": _password(args)})
        return answer, f"created user {answer['username']} (id {answer['id']})"
    if command == "reset-password":
        answer = call(sock, "PUT", f"/users/{user}/password", {"password": _password(args)})
    elif command in ("disable", "enable"):
        answer = call(sock, "POST", f"/users/{user}/{command}")
    elif command == "delete-user":
        if not args.yes:
            raise AdminError(f"this deletes {args.username} and all their prompts: add --yes to confirm")
        answer = call(sock, "DELETE", f"/users/{user}")
        return answer, f"deleted {args.username} and {answer['prompts_deleted']} prompts"
    else:  # pragma: no cover - argparse allows only the commands above
        raise AdminError(f"unknown command {command}")
    return answer, f"{args.username}: {answer['result']}"


def add_admin_arguments(parser: argparse.ArgumentParser) -> None:
    """The options and subcommands of ``composite admin``."""
    parser.add_argument(
        "--socket", help="the admin socket (default: ADMIN_SOCKET, or the database's name plus .admin.sock)"
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")
    commands = parser.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    commands.add_parser("stats", help="rows per table, file and WAL size, memory, uptime, last backup")
    commands.add_parser("checkpoint", help="write the WAL into the database file")
    backup = commands.add_parser("backup", help="write a verified snapshot of the live database to PATH")
    backup.add_argument(
        "path", metavar="PATH", help="a new file (written under a temporary name, then renamed)"
    )
    _add_file_commands(commands)
    commands.add_parser("metrics", help="the metrics in Prometheus's text format")
    commands.add_parser("users", help="list every account")
    for name, text in (
        ("create-user", "create an account"),
        ("reset-password", "set a new password; ends the user's sessions and tokens"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("username")
        sub.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
    for name, text in (
        ("disable", "refuse the user's logins; ends their sessions and tokens"),
        ("enable", "let a disabled user log in again"),
        ("delete-user", "delete the user and all their prompts"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("username")
        if name == "delete-user":
            sub.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")


def _add_file_commands(commands: Any) -> None:
    """restore, dump, load and migrate: each may name the database file (default DATABASE_PATH)."""
    restore = commands.add_parser(
        "restore", help="check BACKUP (plain or .zst) and put it in place of the stopped server's database"
    )
    restore.add_argument("backup", metavar="BACKUP")
    dump = commands.add_parser("dump", help="export every table as Parquet to DIR (new or empty)")
    dump.add_argument("directory", metavar="DIR")
    load = commands.add_parser("load", help="import a dump from DIR into a new database file")
    load.add_argument("directory", metavar="DIR")
    migrate = commands.add_parser(
        "migrate", help="apply pending migrations to a stopped server's database, or --check what they are"
    )
    group = migrate.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="say what would be applied; change nothing")
    group.add_argument("--dry-run", action="store_true", help="the same as --check")
    for sub in (restore, dump, load, migrate):
        sub.add_argument("--database", help="the database file (default: DATABASE_PATH, or data/app.db)")


def socket_path(args: argparse.Namespace) -> str:
    """--socket, else the server's own setting (ADMIN_SOCKET, or the database's name plus .admin.sock)."""
    if args.socket:
        return str(args.socket)
    # Only the socket's path is needed: no other setting is read or checked here.
    path = admin_socket_from(environment(os.environ))
    if path is None:
        raise AdminError("ADMIN_SOCKET is set to nothing: the admin socket is off", EXIT_UNREACHABLE)
    return str(path)


# Commands on the database file itself: the server must be stopped (DuckDB's lock tells).
FILE_COMMANDS = ("restore", "load", "migrate", "dump")


def _run_on_file(args: argparse.Namespace) -> tuple[Any, str]:
    """restore, load, migrate and dump: through the running server where it can, else on the file."""
    from composite.library import maintenance  # DuckDB: only these commands need it

    command = args.admin_command
    database = Path(args.database) if args.database else database_path()
    if command == "restore":
        return maintenance.restore(Path(args.backup), database)
    if command == "load":
        return maintenance.load(Path(args.directory), database)
    check = args.check or args.dry_run if command == "migrate" else False
    try:  # a running server holds the file: it answers for it
        sock = socket_path(args)
        if command == "dump":
            answer = call(sock, "POST", "/dump", {"path": str(Path(args.directory).absolute())})
            return maintenance.dump_answer(answer)
        if check:
            return _check_with_server(sock)
    except AdminError as exc:
        if exc.status != EXIT_UNREACHABLE:
            raise
    if command == "dump":
        return maintenance.dump(Path(args.directory), database)
    return maintenance.migrate(database, check=check)


def _check_with_server(sock: str) -> tuple[Any, str]:
    """``migrate --check`` while a server runs: its recorded migrations against this code's files."""
    from composite.library import maintenance
    from composite.library.migrations import MIGRATIONS_DIR

    state = call(sock, "GET", "/schema")
    files = sorted(p.name for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    known = {name[:4] for name in files}
    unknown = [name for name in state["recorded"] if name[:4] not in known]
    if unknown:
        names = ", ".join(unknown)
        raise AdminError(f"database {state['database']} has migrations this code does not know: {names}")
    done = {name[:4] for name in state["recorded"]}
    pending = [name for name in files if name[:4] not in done]
    return maintenance.describe_plan(state["database"], state["recorded"], pending, state["releases"])


def database_path() -> Path:
    """DATABASE_PATH from the environment or .env, as the server reads it."""
    return Path(environment(os.environ).get("DATABASE_PATH", "").strip() or "data/app.db")


def admin_command(args: argparse.Namespace) -> int:
    """Run one ``composite admin`` command; print its answer and return the exit status."""
    try:
        if args.admin_command in FILE_COMMANDS:
            answer, text = _run_on_file(args)
        else:
            answer, text = _run(args, socket_path(args))
    except AdminError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return exc.status
    print(json.dumps(answer, indent=2) if args.json else text)
    return 0
