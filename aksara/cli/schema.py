"""The commands on a project's models without migrations: ``db`` (create, drop, or print the
tables' SQL), ``demo`` (the example blog) and ``plan`` (the queryset a viewset runs)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import aksara
from aksara.api import FieldSelectionError, explain_plan
from aksara.cli.helpers import _DIALECTS, _connect, _import, _import_models, _url
from aksara.db.url import parse_url
from aksara.exceptions import ConfigurationError
from aksara.orm.schema import create_tables, drop_tables, schema_sql


async def _schema(action: str, url: str) -> None:
    await _connect(url)
    try:
        await (create_tables() if action == "create" else drop_tables())
    finally:
        await aksara.disconnect()


async def _demo(url: str) -> None:
    try:
        from examples.blog.demo import run
    except ModuleNotFoundError:
        raise ConfigurationError(
            "The demo is the examples/ directory of Aksara's repository: run `aksara demo` "
            "(or `make demo`) from a checkout of it."
        ) from None
    await _connect(url)
    await aksara.disconnect()
    await run(url)


def _plan(target: str, action: str, fields: str | None) -> str:
    """``aksara plan module:ViewSet``: the viewset's queryset with its serializer's plan."""
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise ConfigurationError(
            f"aksara plan takes module:ViewSet (e.g. myapp.api:PostViewSet), got {target!r}."
        )
    module = _import(module_name)
    viewset = getattr(module, name, None)
    if not isinstance(viewset, type):
        found = sorted(
            key
            for key, value in vars(module).items()
            if isinstance(value, type)
            and (hasattr(value, "serializer_class") or hasattr(value, "get_serializer_class"))
        )
        raise ConfigurationError(
            f"{module_name} has no viewset {name!r}. Viewsets there: {', '.join(found) or 'none'}."
        )
    selected = [part.strip() for part in fields.split(",") if part.strip()] if fields else None
    try:
        return explain_plan(viewset, action=action, fields=selected)
    except FieldSelectionError as error:
        raise ConfigurationError(" ".join(error.detail["fields"])) from None


def _db(arguments: argparse.Namespace) -> None:
    """``aksara db create|drop|sql``: the tables of ``--models`` on the database, or their SQL."""
    if arguments.action == "sql":
        name = arguments.dialect or parse_url(_url(arguments)).backend
        _import_models(arguments.models)
        print(";\n\n".join(schema_sql(dialect=_DIALECTS[name]())) + ";")
    else:
        url = _url(arguments)
        _import_models(arguments.models)
        asyncio.run(_schema(arguments.action, url))


def _schema_parsers(commands: Any) -> None:
    """Add ``demo``, ``db`` and ``plan`` to the command line's *commands*."""
    demo = commands.add_parser("demo", help="seed a blog and run the performance guide's patterns")
    demo.add_argument("--database-url", default="sqlite:///demo.sqlite3")
    db = commands.add_parser("db", help="create or drop the tables of your models")
    db.add_argument("action", choices=("create", "drop", "sql"))
    db.add_argument("--models", action="append", required=True, help="module defining models")
    db.add_argument("--database-url", help="overrides the settings' DATABASE_URL")
    db.add_argument("--dialect", choices=sorted(_DIALECTS), help="for `sql` without a database")
    plan = commands.add_parser("plan", help="print the queryset a viewset's action runs")
    plan.add_argument("viewset", help="module:ViewSet, e.g. myapp.api:PostViewSet")
    plan.add_argument("--action", default="list", help="list, retrieve, ... (default: list)")
    plan.add_argument("--fields", help="the ?fields= selection, e.g. id,title,author.name")
