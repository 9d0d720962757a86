"""The Database: a backend's pool behind the one execute path every statement takes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any

from aksara.db.backends.base import Backend, Connection, PoolStatus, Row
from aksara.db.dialects.base import Dialect
from aksara.db.events import QueryEvent, _listeners
from aksara.db.querylog import SlowQuery, log_query, report_slow
from aksara.db.stats import QueryStats
from aksara.db.url import parse_url
from aksara.exceptions import TransactionError

__all__ = ["Binding", "Database", "current_binding"]


class Binding:
    """A connection pinned to a task (and its children) by ``connection()`` or ``atomic()``.

    ``depth`` counts the open ``atomic()`` blocks; the lock keeps concurrent child tasks
    from interleaving statements on the one connection.
    """

    __slots__ = (
        "closed",
        "connection",
        "database",
        "depth",
        "frames",
        "lock",
        "savepoints",
        "turn",
    )

    def __init__(self, database: Database, connection: Connection) -> None:
        self.database = database
        self.connection = connection
        self.depth = 0
        self.closed = False
        self.lock = asyncio.Lock()
        self.frames: list[object] = []  # open atomic() blocks, innermost last
        self.turn = asyncio.Condition()
        self.savepoints = 0

    async def wait_turn(self) -> None:
        """Wait until the innermost open block is the one this context runs in.

        A sibling task's savepoint must not swallow (or roll back) this task's statements.
        """
        if self.closed:
            raise TransactionError(
                "This task's connection()/atomic() block has already exited; a task started "
                "inside it must finish before the block ends."
            )
        mine = _frame.get()
        if not self.frames or self.frames[-1] is mine:
            return
        async with self.turn:
            await self.turn.wait_for(lambda: not self.frames or self.frames[-1] is mine)


_frame: ContextVar[object | None] = ContextVar("aksara_atomic_frame", default=None)


_binding: ContextVar[Binding | None] = ContextVar("aksara_connection", default=None)


def current_binding() -> Binding | None:
    """Return the connection pinned to the current task, if any."""
    return _binding.get()


def _make_backend(url: str, pool: dict[str, Any]) -> Backend:
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        from aksara.db.backends.sqlite import SQLiteBackend

        return SQLiteBackend(parsed.target, pool)
    from aksara.db.backends.postgres import PostgresBackend

    return PostgresBackend(parsed.target, pool)


class Database:
    """A connection pool to one database and the single path every statement runs through.

    Statements report a :class:`QueryEvent` to the listeners of the current context and
    feed :attr:`stats`; a statement slower than ``slow_query_ms`` is logged as a warning.
    """

    def __init__(
        self,
        url: str,
        pool: dict[str, Any],
        *,
        slow_query_ms: float | None = None,
        log_queries: bool = False,
        slow_query_handler: Callable[[SlowQuery], Any] | None = None,
    ) -> None:
        self.url = url
        self.pool_options = pool
        self.backend: Backend = _make_backend(url, pool)
        self.dialect: Dialect = self.backend.dialect
        self.name: str = self.backend.name
        self.slow_query_ms = slow_query_ms
        self.slow_query_handler = slow_query_handler
        self.log_queries = log_queries
        self.stats = QueryStats()
        self._opened = False
        self._opening: asyncio.Lock | None = None

    async def open(self) -> None:
        """Open the pool; queries also open it on first use."""
        if self._opened:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if not self._opened:
                await self.backend.open()
                self._opened = True

    async def close(self) -> None:
        """Close the pool and every idle connection."""
        if self._opened:
            self._opened = False
            await self.backend.close()

    @property
    def is_open(self) -> bool:
        """True once the pool is open."""
        return self._opened

    def pool_status(self) -> PoolStatus:
        """Return the pool's size, connections in use and idle connections."""
        return self.backend.status()

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a statement and return its rows."""
        if not self._opened:
            await self.open()
        binding = _binding.get()
        start = perf_counter()
        try:
            if binding is not None and binding.database is self:
                rows = await self._bound_fetch(binding, sql, params)
            else:
                # Every pooled connection may have died at once (server restart): retry on
                # each, the last attempt on a freshly opened one.
                attempts = self.pool_options["max_size"] + 1
                for attempt in range(attempts):
                    try:
                        rows = await self.backend.fetch(sql, params)
                        break
                    except Exception as error:
                        if attempt == attempts - 1 or not self.backend.is_connection_lost(error):
                            raise
        except Exception as error:
            raise self._failed(sql, params, start, error) from error
        self._report(sql, params, start, len(rows))
        return rows

    async def fetchrow(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a statement and return its first row, or None."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run a statement and return the first column of its first row, or None."""
        rows = await self.fetch(sql, params)
        return rows[0][0] if rows else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement that returns no rows; return how many rows it changed."""
        if not self._opened:
            await self.open()
        binding = _binding.get()
        start = perf_counter()
        try:
            if binding is not None and binding.database is self:
                count = await self._bound_execute(binding, sql, params)
            else:
                count = await self.backend.execute(sql, params)
        except Exception as error:
            raise self._failed(sql, params, start, error) from error
        self._report(sql, params, start, count)
        return count

    async def _bound_fetch(self, binding: Binding, sql: str, params: Sequence[Any]) -> list[Row]:
        await binding.wait_turn()
        async with binding.lock:
            return await binding.connection.fetch(sql, params)

    async def _bound_execute(self, binding: Binding, sql: str, params: Sequence[Any]) -> int:
        await binding.wait_turn()
        async with binding.lock:
            return await binding.connection.execute(sql, params)

    def _report(self, sql: str, params: Sequence[Any], start: float, rows: int) -> None:
        duration = (perf_counter() - start) * 1000.0
        self.stats.record(duration)
        listeners = _listeners.get()
        if listeners:
            event = QueryEvent(sql, params, duration, rows, self.name)
            for listener in listeners:
                listener(event)
        if self.log_queries:
            log_query(sql, params, duration, rows)
        if self.slow_query_ms is not None and duration >= self.slow_query_ms:
            report_slow(sql, params, duration, self.name, self.slow_query_handler)

    def _failed(self, sql: str, params: Sequence[Any], start: float, error: Exception) -> Exception:
        duration = (perf_counter() - start) * 1000.0
        translated = self.backend.translate_error(error)
        result: Exception = translated if translated is not None else error
        self.stats.record_error(duration)
        if self.log_queries:
            log_query(sql, params, duration, 0, error=result)
        listeners = _listeners.get()
        if listeners:
            event = QueryEvent(sql, params, duration, 0, self.name, result)
            for listener in listeners:
                listener(event)
        return result

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Binding]:
        """Pin one pooled connection to this task until the block exits.

        A transaction left open on it is rolled back when it goes back to the pool.
        """
        current = _binding.get()
        if current is not None and current.database is self and not current.closed:
            yield current
            return
        if not self._opened:
            await self.open()
        try:
            connection = await self.backend.acquire()
        except Exception as error:
            translated = self.backend.translate_error(error)
            raise (translated or error) from error
        binding = Binding(self, connection)
        token = _binding.set(binding)
        try:
            yield binding
        finally:
            binding.closed = True
            _binding.reset(token)
            await asyncio.shield(self.backend.release(connection))

    def __repr__(self) -> str:
        return f"<Database {self.name} open={self._opened}>"
