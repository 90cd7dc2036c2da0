"""The ``composite`` command: ``serve`` runs anyone's applications, ``site`` the prompt library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from composite import __version__
from composite.server.cli import add_serve_arguments, serve_command

SITE_DESCRIPTION = (
    "Serve the prompt library: the JSON API on BACKEND_PORT (12000) and the website on "
    "FRONTEND_PORT (12001), configured by environment variables and .env (see .env.example)."
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``composite`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="composite",
        description="One process, several ports: ASGI and WSGI applications served by one uvicorn "
        "server, optionally over one shared DuckDB database.",
    )
    parser.add_argument("--version", action="version", version=f"composite {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve applications, one per port",
        description="Serve ASGI and WSGI applications, one per port, in this one process.",
        epilog="example: composite serve --mount 12000=mypkg.api:app --mount 12001=wsgi:mypkg.web:app",
    )
    add_serve_arguments(serve)
    commands.add_parser(
        "site", help="serve the prompt library (as python app.py)", description=SITE_DESCRIPTION
    )
    from composite.library.admin_cli import add_admin_arguments  # standard library only

    admin = commands.add_parser(
        "admin",
        help="operate the running site: backup, users, stats, metrics",
        description="Talk to the running site through its admin socket (ADMIN_SOCKET).",
        epilog="example: composite admin backup data/backups/today.db",
    )
    add_admin_arguments(admin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``composite`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve_command(args)
        if args.command == "admin":
            from composite.library.admin_cli import admin_command

            return admin_command(args)
        from composite.library.site import main as site_main  # only this command needs the site

        return site_main()
    except KeyboardInterrupt:
        return 130  # uvicorn re-raises SIGINT once it has shut down gracefully


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
