"""The ``aksara`` command: serve an app, check it against the production checklist, run the
demo, manage the schema of a project's models (``db``, and migrations: ``makemigrations``,
``migrate``, ``showmigrations``, ``sqlmigrate``, implemented in :mod:`aksara.migrations`) and
show the query plan of an API's viewsets.

A user's mistake (a module that cannot be imported or defines no models, a bad or
unreachable DATABASE_URL) ends with one line on stderr saying what to do, and exit status 1;
a ``serve`` (or ``check``) target that is no ASGI app ends so before the server starts,
with status 2. ``check`` exits 1 when a check fails.

Each group of commands lives in a module of this package: :mod:`~aksara.cli.serve`,
:mod:`~aksara.cli.checks`, :mod:`~aksara.cli.schema` (``db``, ``demo``, ``plan``) and
:mod:`~aksara.cli.migrations`; :mod:`~aksara.cli.helpers` holds what they share.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import aksara
from aksara.cli.checks import _check, _check_parser
from aksara.cli.helpers import (
    _hide_password,
    _importable_from_working_directory,
    _TargetError,
    _url,
)
from aksara.cli.migrations import _migration_commands, _run_migrations, _sqlmigrate
from aksara.cli.schema import _db, _demo, _plan, _schema_parsers
from aksara.cli.serve import GRACEFUL_SHUTDOWN_SECONDS as GRACEFUL_SHUTDOWN_SECONDS
from aksara.cli.serve import _serve, _serve_parser
from aksara.exceptions import AksaraError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aksara", description="Aksara's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_parser(commands)
    _check_parser(commands)
    _schema_parsers(commands)
    _migration_commands(commands)
    commands.add_parser("version", help="print Aksara's version")
    return parser


def _run(arguments: argparse.Namespace) -> int:
    # The project's settings and models modules are found from where the command runs.
    _importable_from_working_directory()
    if arguments.command == "check":
        return _check(arguments)
    if arguments.command == "version":
        print(aksara.__version__)
    elif arguments.command == "serve":
        _serve(arguments)
    elif arguments.command == "demo":
        asyncio.run(_demo(_url(arguments)))
    elif arguments.command == "plan":
        print(_plan(arguments.viewset, arguments.action, arguments.fields))
    elif arguments.command == "sqlmigrate":
        _sqlmigrate(arguments)
    elif arguments.command in ("makemigrations", "migrate", "showmigrations"):
        _run_migrations(arguments)
    else:
        _db(arguments)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aksara`` command with *argv* (default: ``sys.argv[1:]``); return its status."""
    arguments = _parser().parse_args(argv)
    try:
        status = _run(arguments)
    except AksaraError as error:
        message = _hide_password(str(error), getattr(arguments, "database_url", None))
        print(f"aksara: error: {message}", file=sys.stderr)
        return 2 if isinstance(error, _TargetError) else 1
    except KeyboardInterrupt:
        print("aksara: interrupted", file=sys.stderr)
        return 130
    return status
