"""Helpers of the migration tests: throwaway model versions, databases of their own, and the
catalogue of a database as SQLAlchemy's inspector reads it."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import sqlalchemy as sa

import aksara
from aksara import Model
from aksara.migrations.commands import project_models
from aksara.migrations.connection import migration_connection
from aksara.orm.registry import registry

ADMIN_URL = os.environ.get(
    "AKSARA_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test?application_name=aksara_tests"
)
_versions = itertools.count()


def module_name() -> str:
    """A module name of its own for one version of a test's models."""
    return f"migtest_{os.getpid()}_{next(_versions)}"


def forget_models() -> None:
    """Unregister every model a migration test defined (and their join tables)."""
    for model in registry.models():
        if model.__module__.startswith("migtest_"):
            registry.unregister(model)


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A PostgreSQL database of the test's own, dropped at the end."""
    name = f"aksara_migrate_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}", query=""))
    finally:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _inspect(connection: sa.engine.Connection) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    dialect = connection.dialect
    found: dict[str, Any] = {}
    for table in inspector.get_table_names():
        if table in ("alembic_version", "sqlite_sequence"):
            continue
        columns = {
            column["name"]: (
                str(column["type"].compile(dialect)),
                column["nullable"],
                str(column.get("default")),
                bool(column.get("identity")),
            )
            for column in inspector.get_columns(table)
        }
        keys = {
            (
                key["name"],
                tuple(key["constrained_columns"]),
                key["referred_table"],
                tuple(key["referred_columns"]),
                (key.get("options") or {}).get("ondelete"),
            )
            for key in inspector.get_foreign_keys(table)
        }
        indexes = {
            (
                index["name"],
                tuple(index["column_names"]),
                bool(index["unique"]),
                repr(
                    sorted(
                        (key, " ".join(str(value).split()))
                        for key, value in (index.get("dialect_options") or {}).items()
                    )
                ),
            )
            for index in inspector.get_indexes(table)
        }
        uniques = {
            (unique["name"], tuple(unique["column_names"]))
            for unique in inspector.get_unique_constraints(table)
        }
        checks = {
            (check["name"], " ".join(check["sqltext"].split()))
            for check in inspector.get_check_constraints(table)
        }
        options = inspector.get_table_options(table)
        primary = inspector.get_pk_constraint(table)
        if dialect.name == "sqlite" and len(primary["constrained_columns"]) == 1:
            # An INTEGER PRIMARY KEY is the rowid, never NULL whether declared NOT NULL or not.
            name = primary["constrained_columns"][0]
            kind, _nullable, default, identity = columns[name]
            if kind == "INTEGER":
                columns[name] = (kind, False, default, identity)
        found[table] = {
            "columns": columns,
            "primary": tuple(primary["constrained_columns"]),
            "foreign_keys": keys,
            "indexes": indexes,
            "uniques": uniques,
            "checks": checks,
            "strict": bool(options.get("sqlite_strict")),
        }
        if dialect.name == "sqlite":
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = ?", (table,)
            ).scalar_one()
            found[table]["autoincrement"] = "AUTOINCREMENT" in sql.upper()
    return found


async def catalogue(url: str) -> dict[str, Any]:
    """The tables of the database at *url*, with columns, keys, indexes and constraints."""
    async with migration_connection(url) as runner:
        result: dict[str, Any] = await runner.run(_inspect)
        return result


async def created_catalogue(url: str, models: list[type[Model]]) -> dict[str, Any]:
    """The catalogue :func:`aksara.create_tables` makes for *models* in the empty database
    at *url*."""
    async with aksara.connect(url):
        await aksara.create_tables(project_models(models))
    try:
        return await catalogue(url)
    finally:
        await aksara.disconnect()


def differences(actual: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What differs between two catalogues, one line per table and aspect."""
    found = []
    for table in sorted(set(actual) | set(expected)):
        if table not in actual or table not in expected:
            found.append(f"{table}: only in {'expected' if table in expected else 'actual'}")
            continue
        for key in expected[table]:
            have, want = actual[table].get(key), expected[table][key]
            if have != want:
                if isinstance(want, dict) and isinstance(have, dict):
                    have = {k: v for k, v in have.items() if want.get(k) != v}
                    want = {k: v for k, v in want.items() if have.get(k) != v}
                elif isinstance(want, set) and isinstance(have, set):
                    have, want = have - want, want - have
                found.append(f"{table}.{key}: actual {have} expected {want}")
    return found
