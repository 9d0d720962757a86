"""SQLite through aiosqlite, with a small pool of connections (one for ``:memory:``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import aiosqlite

from aksara.db.backends.base import Backend, Connection, PoolStatus, Row
from aksara.db.dialects.sqlite import SQLiteDialect
from aksara.exceptions import (
    ConnectionLostError,
    DatabaseClosedError,
    DatabaseError,
    DatabaseUnavailableError,
    IntegrityError,
    PoolTimeoutError,
    QueryTimeoutError,
)

__all__ = ["SQLiteBackend"]

_PRAGMAS = (
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    # LIKE is case-sensitive, as on PostgreSQL; icontains and friends use LOWER().
    "PRAGMA case_sensitive_like = ON",
    "PRAGMA synchronous = NORMAL",
)
_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")
_NOT_NULL = re.compile(r"NOT NULL constraint failed: (\w+)\.(\w+)")
_DIVISION_BY_ZERO = "division by zero"
_CHECK = re.compile(r"CHECK constraint failed: (\w+)")
# aiosqlite's words for a closed connection; both are raised before a statement is queued.
_CLOSED = ("no active connection", "Connection closed")
_log = logging.getLogger("aksara.db")
#: What may leave state on a connection: pragmas, attached databases, temporary objects.
_SESSION_STATEMENT = re.compile(r"\b(?:PRAGMA|ATTACH|DETACH|TEMP|TEMPORARY)\b", re.IGNORECASE)


async def _ended(thread: threading.Thread, *, polls: int = 5_000) -> None:
    """Wait until *thread* has finished (5 s at most), without a thread of its own to join it."""
    for _ in range(polls):
        if not thread.is_alive():
            return
        await asyncio.sleep(0.001)


class SQLiteConnection(Connection):
    """One aiosqlite connection (a thread of its own) with its use counters.

    ``broken`` is set when a statement was cancelled, timed out or found the connection
    closed: what its thread still runs is unknown, so the pool closes it instead of reusing it.
    """

    __slots__ = (
        "_connection",
        "_timeout",
        "broken",
        "closed_by_pool",
        "dirty",
        "last_used",
        "queries",
    )

    def __init__(self, connection: aiosqlite.Connection, timeout: float | None = None) -> None:
        self._connection = connection
        self._timeout = timeout
        self.queries = 0
        self.last_used = time.monotonic()
        self.broken = False
        self.closed_by_pool = False
        self.dirty = False

    def _interrupt(self) -> None:
        # The statement keeps running (or waits in the thread's queue, e.g. a BEGIN IMMEDIATE
        # behind a busy lock) unless interrupted; an interrupt can come too late to stop it.
        self.broken = True
        with contextlib.suppress(ValueError):  # already closed
            self._connection._conn.interrupt()

    async def _run(self, operation: Any) -> Any:
        try:
            async with asyncio.timeout(self._timeout):
                return await operation
        except TimeoutError:
            self._interrupt()
            raise QueryTimeoutError(
                f'The statement ran longer than DATABASE_POOL["command_timeout"] ({self._timeout}s).'
            ) from None
        except BaseException as error:
            self._failed(error)
            raise

    def _failed(self, error: BaseException) -> None:
        """Mark the connection for what a failed or cancelled statement leaves on it."""
        if isinstance(error, asyncio.CancelledError):
            self._interrupt()
        elif isinstance(error, ValueError) and str(error) in _CLOSED:
            self.broken = True

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        self.queries += 1
        if self._timeout is not None:
            timed: list[Row] = await self._run(self._connection.execute_fetchall(sql, params))
            return timed
        # Without command_timeout no timer is armed: the statement is awaited directly, one
        # coroutine and one asyncio.timeout() fewer on every get.
        try:
            rows: list[Row] = await self._connection.execute_fetchall(  # type: ignore[assignment]
                sql, params
            )
        except BaseException as error:
            self._failed(error)
            raise
        return rows  # a list; typing.cast() would be one more call per statement

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        self.queries += 1
        cursor = await self._run(self._connection.execute(sql, params))
        return int(cursor.rowcount)

    @property
    def in_transaction(self) -> bool:
        try:
            return bool(self._connection.in_transaction)
        except ValueError:  # closed: no transaction survives
            return False

    @property
    def raw(self) -> Any:
        return self._connection


class SQLiteBackend(Backend):
    """A pool of aiosqlite connections with the same knobs as the PostgreSQL pool."""

    name = "sqlite"

    def __init__(self, path: str, pool: dict[str, Any]) -> None:
        self.dialect = SQLiteDialect()
        self._path = path
        self._is_memory = path == ":memory:"
        # Every connection to ":memory:" is a database of its own, so that pool holds one.
        self._max_size: int = 1 if self._is_memory else pool["max_size"]
        self._min_size: int = min(pool["min_size"], self._max_size)
        self._max_queries: int = pool["max_queries"]
        self._max_idle: float = pool["max_inactive_connection_lifetime"]
        self._acquire_timeout: float = pool["acquire_timeout"]
        self._command_timeout: float | None = pool["command_timeout"]
        self._idle: deque[SQLiteConnection] = deque()
        self._waiters: deque[asyncio.Future[SQLiteConnection]] = deque()
        self._size = 0
        self._closed = True
        self._close_timeout: float = pool["close_timeout"]
        self._connections: set[SQLiteConnection] = set()  # open ones, idle or in use
        self._discarded: set[asyncio.Task[None]] = set()  # background closes and reopens
        self._drained: asyncio.Event | None = None  # set when a closing pool has none left

    async def _connect(self) -> SQLiteConnection:
        pending = aiosqlite.connect(self._path, isolation_level=None)
        # A daemon worker thread: a program that ends without disconnect() still exits.
        thread = getattr(pending, "_thread", None)
        if thread is not None:
            thread.daemon = True
        try:
            connection = await pending
            # execute_fetchall finalizes each statement: case_sensitive_like cannot change
            # while another statement (the journal_mode one) is still open.
            if not self._is_memory:
                await connection.execute_fetchall("PRAGMA journal_mode = WAL")
            for pragma in _PRAGMAS:
                await connection.execute_fetchall(pragma)
        except BaseException as error:
            await asyncio.shield(pending.close())  # a cancelled open must not leak a thread
            if thread is not None and thread.ident is not None:
                # A failed open stops the worker without waiting: it would report back to
                # the loop later, and fail loudly if asyncio.run() had closed it meanwhile.
                await asyncio.shield(_ended(thread))
            if isinstance(error, sqlite3.Error):
                raise self._unavailable(error) from error
            raise
        result = SQLiteConnection(connection, self._command_timeout)
        self._connections.add(result)
        return result

    def _unavailable(self, error: sqlite3.Error) -> DatabaseUnavailableError:
        if isinstance(error, sqlite3.OperationalError):
            advice = (
                "check that its directory exists and that this process may read and write there"
            )
        else:
            advice = "check that the path names a SQLite database, not another kind of file"
        return DatabaseUnavailableError(
            f"Cannot open the SQLite database file {self._path!r}: {advice} "
            f"({type(error).__name__}: {error})."
        )

    async def open(self) -> None:
        self._closed = False
        for _ in range(self._min_size - self._size):
            self._size += 1
            try:
                self._idle.append(await self._connect())
            except BaseException:
                self._forget(None)
                raise

    async def close(self) -> None:
        """Close the pool: waiters get DatabaseClosedError, idle connections close at once,
        those in use when they come back or, after ``close_timeout``, under their holder."""
        self._closed = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(
                    DatabaseClosedError(
                        "The SQLite pool was closed (disconnect()) while this task waited for "
                        "a connection; let queries finish before disconnecting."
                    )
                )
        self._waiters.clear()
        while self._idle:
            connection = self._idle.popleft()
            self._forget(connection)
            await connection.raw.close()
        if self._size > 0:
            self._drained = asyncio.Event()
            try:
                async with asyncio.timeout(self._close_timeout):
                    await self._drained.wait()
            except TimeoutError:
                in_use = list(self._connections)
                _log.warning(
                    "disconnect(): %d SQLite connection(s) still in use after "
                    'DATABASE_POOL["close_timeout"] (%ss), e.g. held by an open atomic() '
                    "block; closing them under their holders.",
                    len(in_use),
                    self._close_timeout,
                )
                for connection in in_use:
                    connection.broken = connection.closed_by_pool = True
                    self._spawn(self._close_quietly(connection))
            finally:
                self._drained = None
        if self._discarded:
            await asyncio.wait(set(self._discarded), timeout=self._close_timeout)

    def _forget(self, connection: SQLiteConnection | None) -> None:
        """Count *connection* (None: one that failed to open) out of the pool."""
        self._size -= 1
        if connection is not None:
            self._connections.discard(connection)
        if self._drained is not None and self._size <= 0:
            self._drained.set()

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._discarded.add(task)
        task.add_done_callback(self._discarded.discard)

    async def _take(self) -> SQLiteConnection:
        if self._closed:
            raise DatabaseClosedError(
                "The SQLite pool is closed (disconnect() ran); open it again with "
                "`await aksara.connect()` before running queries."
            )
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            expired = self._max_idle and now - connection.last_used > self._max_idle
            worn = self._max_queries and connection.queries >= self._max_queries
            if not (expired or worn):
                return connection
            self._forget(connection)
            await connection.raw.close()
        if self._size < self._max_size:
            self._size += 1
            try:
                return await self._connect()
            except BaseException:
                self._forget(None)
                raise
        waiter: asyncio.Future[SQLiteConnection] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._acquire_timeout):
                return await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed over just as the timer fired: the timeout's cancel landed on a
                # task already woken with a connection, which would otherwise leak.
                return waiter.result()
            raise PoolTimeoutError(
                f"No database connection became free within {self._acquire_timeout}s: all "
                f'{self._max_size} connections of DATABASE_POOL["max_size"] stayed in use. '
                'Raise DATABASE_POOL["max_size"] (or "acquire_timeout"), or run fewer queries '
                "at once."
                + (" An in-memory SQLite database has one connection." if self._is_memory else "")
            ) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _give_back(self, connection: SQLiteConnection) -> None:
        connection.last_used = time.monotonic()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    async def _put(self, connection: SQLiteConnection) -> None:
        try:
            if connection.in_transaction:
                await connection.raw.execute("ROLLBACK")
        except Exception:
            self._discard(connection)
            return
        if self._closed:
            self._forget(connection)
            await connection.raw.close()
            return
        self._give_back(connection)

    def _take_idle(self) -> SQLiteConnection | None:
        """The most recently used idle connection when it is fit to serve, else None (then
        ``_take`` decides: retire it, open another or wait), without a coroutine."""
        if self._closed or not self._idle:
            return None
        connection = self._idle[-1]
        if (self._max_idle and time.monotonic() - connection.last_used > self._max_idle) or (
            self._max_queries and connection.queries >= self._max_queries
        ):
            return None
        return self._idle.pop()

    async def fetch(self, sql: str, params: Sequence[Any], dirty: bool = False) -> list[Row]:
        connection = self._take_idle() or await self._take()
        connection.dirty = dirty
        try:
            return await connection.fetch(sql, params)
        finally:
            if connection.broken or connection.dirty or self._closed or connection.in_transaction:
                await self.release(connection)
            else:
                self._give_back(connection)

    async def execute(self, sql: str, params: Sequence[Any], dirty: bool = False) -> int:
        connection = await self._take()
        connection.dirty = dirty
        try:
            return await connection.execute(sql, params)
        finally:
            await self.release(connection)

    async def acquire(self) -> Connection:
        return await self._take()

    async def release(self, connection: Connection) -> None:
        assert isinstance(connection, SQLiteConnection)
        if connection.broken or connection.dirty:
            # Settings a PRAGMA changed, attached databases and temporary objects cannot all
            # be undone one by one: a fresh connection has none of them.
            self._discard(connection)
        elif self._closed or connection.in_transaction:
            await asyncio.shield(self._put(connection))
        else:
            self._give_back(connection)

    def _discard(self, connection: SQLiteConnection) -> None:
        """Close *connection* in the background and let a waiter have a new one.

        Closing waits for what its thread still runs (up to busy_timeout): the task that
        released it must not wait for that. Closing rolls back any transaction left open.
        """
        self._forget(connection)
        self._spawn(self._close_quietly(connection))
        if not self._closed and any(not waiter.done() for waiter in self._waiters):
            self._size += 1
            self._spawn(self._open_for_waiter())

    @staticmethod
    async def _close_quietly(connection: SQLiteConnection) -> None:
        with contextlib.suppress(Exception):
            await connection.raw.close()

    async def _open_for_waiter(self) -> None:
        try:
            connection = await self._connect()
        except BaseException as error:
            self._forget(None)
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(error)
                    break
            if not isinstance(error, Exception):
                raise
            return
        if self._closed:
            self._forget(connection)
            await self._close_quietly(connection)
            return
        self._give_back(connection)

    def may_change_session(self, sql: str) -> bool:
        # SQLite runs no server-side code: only these statements leave state on a connection.
        # An in-memory database is its one connection: there, the state is the database.
        return not self._is_memory and _SESSION_STATEMENT.search(sql) is not None

    def translate_error(self, error: BaseException) -> DatabaseError | None:
        if isinstance(error, DatabaseError):
            return error
        if isinstance(error, sqlite3.IntegrityError):
            message = str(error)
            constraint = None
            if match := _UNIQUE.match(message):
                columns = [part.strip().split(".") for part in match.group(1).split(",")]
                table = columns[0][0]
                constraint = f"{table}_{'_'.join(c[-1] for c in columns)}_key"
            elif match := _NOT_NULL.match(message):
                constraint = f"{match.group(1)}_{match.group(2)}_not_null"
            elif match := _CHECK.match(message):
                constraint = match.group(1)
            return IntegrityError(message, constraint=constraint)
        if self.is_connection_lost(error):
            return ConnectionLostError(f"The SQLite connection is closed: {error}")
        if isinstance(error, sqlite3.Error):
            message = str(error)
            if _DIVISION_BY_ZERO in message:
                # The dialect's checked division fails through json_extract's path error
                # (SQLite itself answers NULL): report it as PostgreSQL does.
                return DatabaseError(_DIVISION_BY_ZERO)
            return DatabaseError(message)
        return None

    def is_connection_lost(self, error: BaseException) -> bool:
        if isinstance(error, ValueError):
            return str(error) in _CLOSED
        return isinstance(error, ConnectionLostError)

    def is_unsent(self, error: BaseException) -> bool:
        # aiosqlite finds its connection closed before it queues the statement to its thread.
        return isinstance(error, ValueError) and str(error) in _CLOSED

    def status(self) -> PoolStatus:
        idle = len(self._idle)
        waiting = sum(1 for waiter in self._waiters if not waiter.done())
        return PoolStatus(self._size, self._size - idle, idle, self._max_size, waiting)
