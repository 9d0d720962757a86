"""The ``aksara`` command: run the demo and manage the schema of a project's models."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence

import aksara
from aksara.db.dialects import PostgresDialect, SQLiteDialect
from aksara.orm.schema import create_tables, drop_tables, schema_sql

__all__ = ["main"]


def _import_models(modules: Sequence[str]) -> None:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        importlib.import_module(module)


async def _schema(action: str, url: str | None) -> None:
    async with aksara.connect(url):
        await (create_tables() if action == "create" else drop_tables())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aksara", description="Aksara's command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="seed a blog and run the performance guide's patterns")
    demo.add_argument("--database-url", default="sqlite:///demo.sqlite3")
    db = commands.add_parser("db", help="create or drop the tables of your models")
    db.add_argument("action", choices=("create", "drop", "sql"))
    db.add_argument("--models", action="append", required=True, help="module defining models")
    db.add_argument("--database-url", help="overrides the settings' DATABASE_URL")
    db.add_argument(
        "--dialect", choices=("postgresql", "sqlite"), help="for `sql` without a database"
    )
    commands.add_parser("version", help="print Aksara's version")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``aksara`` command with *argv* (default: ``sys.argv[1:]``)."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "version":
        print(aksara.__version__)
    elif arguments.command == "demo":
        _import_models([])
        from examples.blog.demo import run

        asyncio.run(run(arguments.database_url))
    elif arguments.action == "sql":
        _import_models(arguments.models)
        dialect = PostgresDialect() if arguments.dialect == "postgresql" else SQLiteDialect()
        if arguments.dialect is None and arguments.database_url:
            dialect = (
                PostgresDialect() if arguments.database_url.startswith("postgres") else dialect
            )
        print(";\n\n".join(schema_sql(dialect=dialect)) + ";")
    else:
        _import_models(arguments.models)
        asyncio.run(_schema(arguments.action, arguments.database_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
