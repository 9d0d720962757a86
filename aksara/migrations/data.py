"""Data steps: Aksara queries inside a revision, in the revision's own transaction.

In a revision's ``upgrade()``::

    from aksara.migrations import run_data

    async def fill_slugs(ctx):
        await ctx.execute("UPDATE posts SET slug = lower(title) WHERE slug IS NULL")
        await Post.objects.filter(slug="").update(slug="untitled")

    def upgrade():
        op.add_column("posts", sa.Column("slug", ...))
        run_data(fill_slugs)

The coroutine runs on the connection Alembic migrates with: ``ctx`` and every query of the
default database (the ORM included) go through it, inside the revision's transaction, so a
failure in the data step rolls back the schema change too. On PostgreSQL and on SQLite
(where Aksara begins each revision with ``BEGIN IMMEDIATE``) DDL is transactional, so this
is all or nothing; a revision that builds an index ``CONCURRENTLY`` is not. ``atomic()``
blocks inside a data step become savepoints. Models are today's classes, not the schema
of the revision's time: a data step that must outlive model changes uses SQL. Call
``run_data`` between, not inside, ``batch_alter_table`` blocks: SQLite applies a batch when
its block ends. Writes of a data step do not bump the cache's table versions (a deploy that
migrates starts its processes, and their caches, afterwards).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from alembic import op
from sqlalchemy.util import await_only

from aksara.db.connections import get_database
from aksara.db.database import Binding, Database, _binding, _frame
from aksara.migrations.errors import MigrationError

__all__ = ["DataContext", "run_data"]


class DataContext:
    """What a data step gets: the database, pinned to the revision's connection."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.dialect = database.dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement (Aksara's placeholders: ``$1`` or ``?``); return rows changed."""
        return await self.database.execute(sql, params)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run a query and return its rows."""
        return list(await self.database.fetch(sql, params))


async def _wrap(raw: Any, database: Database) -> Any:
    if database.dialect.name == "postgresql":
        from aksara.db.backends.postgres import PostgresConnection, _init_connection

        await _init_connection(raw)  # Aksara's codecs (uuid, json, jsonb) on this connection
        return PostgresConnection(raw, database.pool_options["close_timeout"])
    from aksara.db.backends.sqlite import SQLiteConnection

    return SQLiteConnection(raw, database.pool_options["command_timeout"])


async def _run(step: Callable[[DataContext], Awaitable[Any]], raw: Any, database: Database) -> Any:
    await database.open()
    binding = Binding(database, await _wrap(raw, database))
    outer = object()  # the revision's transaction, as if an atomic() block held it
    binding.frames.append(outer)
    binding_token = _binding.set(binding)
    frame_token = _frame.set(outer)
    try:
        return await step(DataContext(database))
    finally:
        _frame.reset(frame_token)
        _binding.reset(binding_token)
        binding.closed = True


def run_data(step: Callable[[DataContext], Awaitable[Any]]) -> Any:
    """Run the coroutine function *step* (``async def step(ctx)``) on the revision's
    connection and transaction; return what it returns."""
    context = op.get_context()
    if context.as_sql:
        raise MigrationError(
            "A data step runs queries, which offline SQL (sqlmigrate) cannot show; this "
            "revision's SQL stops here. Read its upgrade() for the data step."
        )
    run = context.config.attributes.get("aksara") if context.config else None
    database = getattr(run, "database", None) or get_database()
    if database.dialect.name != context.dialect.name:
        raise MigrationError(
            f"The data step's database is {database.dialect.name}, the migration runs on "
            f"{context.dialect.name}: migrate with the same DATABASE_URL."
        )
    raw = op.get_bind().connection.dbapi_connection.driver_connection  # type: ignore[union-attr]
    return await_only(_run(step, raw, database))
