"""The migration commands: ``makemigrations``, ``migrate``, ``showmigrations`` and
``sqlmigrate``; they parse arguments here and run in :mod:`aksara.migrations`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

import aksara
from aksara.cli.helpers import _DIALECTS, _connect, _import_models, _url


def _migration_options(command: argparse.ArgumentParser, *, models: bool = True) -> None:
    command.add_argument("--path", help="the migrations folder (default: MIGRATIONS['path'])")
    command.add_argument("--database-url", help="overrides the settings' DATABASE_URL")
    if models:
        command.add_argument(
            "--models", action="append", help="module defining models (default: MIGRATIONS)"
        )


def _migration_commands(commands: Any) -> None:
    make = commands.add_parser("makemigrations", help="write a revision for model changes")
    make.add_argument("-m", "--message", default="", help="the revision's message")
    make.add_argument("--empty", action="store_true", help="a revision with no change (data)")
    make.add_argument("--check", action="store_true", help="exit 1 if models and migrations differ")
    make.add_argument(
        "--rename", action="append", default=[], help="table.old:new (column) or old:new (table)"
    )
    make.add_argument("--allow-drop", action="store_true", help="write drops that may be renames")
    make.add_argument(
        "--concurrently", action="store_true", help="PostgreSQL: CREATE INDEX CONCURRENTLY"
    )
    make.add_argument("--no-input", action="store_true", help="never prompt (refuse instead)")
    _migration_options(make)
    migrate = commands.add_parser("migrate", help="apply (or go back to) a revision")
    migrate.add_argument("target", nargs="?", default="heads", help="revision, heads or zero")
    migrate.add_argument("--allow-drop", action="store_true", help="drop columns holding data")
    _migration_options(migrate)
    show = commands.add_parser("showmigrations", help="list revisions, [X] when applied")
    _migration_options(show, models=False)
    sql = commands.add_parser("sqlmigrate", help="print a revision's SQL (no database)")
    sql.add_argument("revision")
    sql.add_argument("--dialect", choices=sorted(_DIALECTS), help="default: DATABASE_URL's")
    sql.add_argument("--downgrade", action="store_true", help="the SQL going back down")
    sql.add_argument("--path", help="the migrations folder (default: MIGRATIONS['path'])")


def _ask(question: str) -> bool:
    answer = input(f"{question} [y/N] ").strip().lower()
    return answer in ("y", "yes")


async def _migrations(arguments: argparse.Namespace) -> None:
    from aksara import migrations  # Alembic and SQLAlchemy load for these commands only

    url = _url(arguments)
    await _connect(url)
    try:
        path = arguments.path
        models = getattr(arguments, "models", None)
        if arguments.command == "migrate":
            heads = await migrations.migrate(
                arguments.target, allow_drop=arguments.allow_drop, path=path, models=models
            )
            print(f"The database is at {', '.join(heads) or 'zero (no revision)'}.")
        elif arguments.command == "showmigrations":
            for state in await migrations.show_migrations(path=path):
                mark = "X" if state.applied else " "
                print(f"[{mark}] {state.revision}  {state.message}")
        elif arguments.check:
            differences = await migrations.check_migrations(path=path, models=models)
            if differences:
                raise migrations.MigrationError(
                    "The models and the migrations differ; run `aksara makemigrations`:\n  "
                    + "\n  ".join(differences)
                )
            print("The models and the migrations agree.")
        else:
            interactive = not arguments.no_input and sys.stdin.isatty()
            written = await migrations.make_migrations(
                arguments.message,
                empty=arguments.empty,
                renames=arguments.rename,
                allow_drop=arguments.allow_drop,
                prompt=_ask if interactive else None,
                concurrently=arguments.concurrently,
                path=path,
                models=models,
            )
            print(f"Wrote {written}." if written else "No changes: no revision written.")
    finally:
        await aksara.disconnect()


def _sqlmigrate(arguments: argparse.Namespace) -> None:
    """``aksara sqlmigrate``: print a revision's SQL, without a database."""
    from aksara.migrations import sql_migrate

    print(
        sql_migrate(
            arguments.revision,
            dialect=arguments.dialect,
            downgrade=arguments.downgrade,
            path=arguments.path,
        ),
        end="",
    )


def _run_migrations(arguments: argparse.Namespace) -> None:
    """``makemigrations``, ``migrate`` and ``showmigrations``: the models first, then the loop."""
    if getattr(arguments, "models", None):
        _import_models(arguments.models)  # before the loop runs, with clear errors
    asyncio.run(_migrations(arguments))
