"""The test schema: built once per database, then emptied before each test instead of rebuilt.

Dropping and creating every table for each test cost most of the suite's time (PostgreSQL DDL
is slow). Instead :func:`prepare` compares the database's catalog and the registered models
with what it built last time, rebuilds only when they differ (a test dropped a table, left a
scratch table, or defined a model), and otherwise deletes the rows of the tables that hold
some and restarts the id sequences a test used, so ids start at 1 again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aksara
from aksara import Model
from aksara.db import Database
from aksara.exceptions import DatabaseError
from aksara.orm.registry import registry

#: Longest wait for a lock held by a connection a test forgot to close, before failing loudly.
LOCK_TIMEOUT = "10s"

_POSTGRES_CATALOG = """
SELECT 'table', tablename FROM pg_tables WHERE schemaname = current_schema()
UNION ALL
SELECT 'index', indexname FROM pg_indexes WHERE schemaname = current_schema()
UNION ALL
SELECT 'sequence', sequencename FROM pg_sequences
WHERE schemaname = current_schema() AND last_value IS NOT NULL
"""

_SQLITE_CATALOG = "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index')"


@dataclass(frozen=True)
class _Catalog:
    """The tables and indexes of a database, and what a test may have left in them."""

    objects: frozenset[tuple[str, str]]
    #: Sequences that handed out a value since they were (re)started.
    used_sequences: tuple[str, ...]
    #: SQLite: the AUTOINCREMENT counters' table exists.
    has_sqlite_sequence: bool

    @property
    def tables(self) -> list[str]:
        return sorted(name for kind, name in self.objects if kind == "table")


@dataclass(frozen=True)
class _Built:
    models: tuple[type[Model], ...]
    objects: frozenset[tuple[str, str]]


#: What prepare() built, by database URL.
_built: dict[str, _Built] = {}


async def prepare(database: Database, *, rebuild: bool = False) -> None:
    """Give *database* every registered model's table, all of them empty, ids starting at 1.

    With ``rebuild`` the tables are dropped and made again even when nothing changed.
    """
    models = tuple(model for model in registry.models() if not model._meta.abstract)
    catalog = await _read_catalog(database)
    built = _built.get(database.url)
    if rebuild or built is None or built.models != models or built.objects != catalog.objects:
        _built.pop(database.url, None)
        await _drop_all(database, catalog)
        await aksara.create_tables(list(models), database=database)
        catalog = await _read_catalog(database)
        _built[database.url] = _Built(models, catalog.objects)
    await _empty(database, models, catalog)


def forget(url: str) -> None:
    """Forget what was built at *url* (its database was deleted)."""
    _built.pop(url, None)


async def _read_catalog(database: Database) -> _Catalog:
    if database.name == "postgresql":
        rows = await database.fetch(_POSTGRES_CATALOG)
        objects = frozenset((kind, name) for kind, name in rows if kind != "sequence")
        used = tuple(name for kind, name in rows if kind == "sequence")
        return _Catalog(objects, used, has_sqlite_sequence=False)
    rows = await database.fetch(_SQLITE_CATALOG)
    # sqlite_sequence, sqlite_stat1 and the automatic indexes of UNIQUE constraints belong
    # to SQLite itself.
    names = {(kind, name) for kind, name in rows}
    objects = frozenset((kind, name) for kind, name in names if not name.startswith("sqlite_"))
    return _Catalog(objects, (), has_sqlite_sequence=("table", "sqlite_sequence") in names)


def _children_first(models: tuple[type[Model], ...]) -> list[str]:
    """Table names, every table before the tables its foreign keys point at."""
    order: list[type[Model]] = []
    seen: set[type[Model]] = set()

    def visit(model: type[Model]) -> None:
        if model in seen:
            return
        seen.add(model)
        for key in model._meta.foreign_keys:
            visit(key.related_model)
        order.append(model)

    for model in models:
        visit(model)
    return [model._meta.table_name for model in reversed(order)]


async def _drop_all(database: Database, catalog: _Catalog) -> None:
    """Drop every table of the database, the models' and any a test left behind."""
    quote = database.dialect.quote
    tables = catalog.tables
    if not tables:
        return
    if database.name == "postgresql":
        drop = f"DROP TABLE IF EXISTS {', '.join(map(quote, tables))} CASCADE"
        await _with_lock_timeout(database, [drop])
        return
    async with _sqlite_without_foreign_keys(database):
        for table in tables:
            await database.execute(f"DROP TABLE IF EXISTS {quote(table)}")


async def _empty(database: Database, models: tuple[type[Model], ...], catalog: _Catalog) -> None:
    quote = database.dialect.quote
    tables = catalog.tables
    probe = [
        f"SELECT {_literal(table)} WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables
    ]
    if catalog.has_sqlite_sequence:
        probe.append("SELECT 'sqlite_sequence' WHERE EXISTS (SELECT 1 FROM sqlite_sequence)")
    if not probe:
        return
    holding = {row[0] for row in await database.fetch(" UNION ALL ".join(probe))}
    if not holding and not catalog.used_sequences:
        return
    ordered = [table for table in _children_first(models) if table in holding]
    ordered += sorted(holding - set(ordered) - {"sqlite_sequence"})
    if database.name == "postgresql":
        await _empty_postgres(database, ordered, catalog)
        return
    async with _sqlite_without_foreign_keys(database), aksara.atomic(database):
        for table in ordered:
            await database.execute(f"DELETE FROM {quote(table)}")
        if "sqlite_sequence" in holding:
            await database.execute("DELETE FROM sqlite_sequence")


async def _empty_postgres(database: Database, tables: list[str], catalog: _Catalog) -> None:
    """DELETE the rows (children first) and restart the used sequences in one transaction.

    Not TRUNCATE: it replaces the files of every table and index it names, 60-90 ms a test
    here against under a millisecond for DELETE of a test's few rows.
    """
    quote = database.dialect.quote
    statements = [f"DELETE FROM {quote(table)}" for table in tables]
    if catalog.used_sequences:
        # setval, unlike ALTER SEQUENCE ... RESTART, writes no new file for the sequence.
        statements.append(
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value,"
            " false) FROM pg_sequences WHERE schemaname = current_schema()"
            " AND last_value IS NOT NULL"
        )
    await _with_lock_timeout(database, statements)


async def _with_lock_timeout(database: Database, statements: list[str]) -> None:
    """Run *statements* as one transaction (one simple-protocol message), waiting for a lock
    no longer than LOCK_TIMEOUT."""
    timeout = f"SELECT set_config('lock_timeout', '{LOCK_TIMEOUT}', true)"
    try:
        await database.execute("; ".join([timeout, *statements]))
    except DatabaseError as error:
        if "lock timeout" not in str(error):
            raise
        raise DatabaseError(
            f"Preparing the test tables waited {LOCK_TIMEOUT} for a lock: a connection an "
            "earlier test opened (a Database it never closed) holds a transaction on them. "
            "Close every Database a test opens, in a finally block."
        ) from error


@asynccontextmanager
async def _sqlite_without_foreign_keys(database: Database) -> AsyncIterator[None]:
    """Pin one connection with foreign keys off (the pragma is ignored inside a transaction):
    SQLite checks ON DELETE RESTRICT row by row, so rows of one table pointing at each other
    could not be deleted otherwise."""
    async with database.connection():
        await database.execute("PRAGMA foreign_keys = OFF")
        try:
            yield
        finally:
            await database.execute("PRAGMA foreign_keys = ON")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
