"""The Database: a backend's pool behind the one execute path every statement takes."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any, TypeVar

from aksara.conf import mask_url, settings
from aksara.db.backends.base import Backend, Connection, PoolStatus, Row
from aksara.db.dialects.base import Dialect
from aksara.db.events import QueryEvent, _listeners
from aksara.db.querylog import SlowQuery, log_query, report_slow
from aksara.db.statements import StatementCache
from aksara.db.stats import QueryStats
from aksara.db.tables import statement_tables
from aksara.db.url import parse_url
from aksara.db.writes import EVERY_TABLE, announce_writes, deleted_tables
from aksara.db.writes import _hooks as _write_hooks
from aksara.exceptions import (
    ConnectionLostError,
    DatabaseClosedError,
    DatabaseUnavailableError,
    PoolTimeoutError,
    TransactionError,
    WriteOutcomeUnknownError,
)

__all__ = ["Binding", "Database", "current_binding"]

T = TypeVar("T")

# Anything that may write or lock: INSERT/UPDATE/DELETE/MERGE (also in a CTE), SELECT ... INTO,
# FOR UPDATE / FOR SHARE; nextval() and setval() advance sequences.
_MAY_WRITE = re.compile(
    r"\b(?:INSERT|UPDATE|DELETE|MERGE|INTO|SHARE|NEXTVAL|SETVAL)\b", re.IGNORECASE
)


def _is_plain_read(sql: str) -> bool:
    """True when *sql* is a query that can neither change data nor take row locks.

    A guard behind the caller's ``read_only=True``, consulted only when a retry is in question.
    """
    head = sql.lstrip()[:7].upper()
    return head.startswith(("SELECT", "WITH", "EXPLAIN", "VALUES")) and not _MAY_WRITE.search(sql)


def _closed_under(binding: Binding) -> DatabaseClosedError:
    """The error for a statement of a block whose database disconnect() closed."""
    forced = binding.connection.closed_by_pool
    return DatabaseClosedError(
        "disconnect() closed the database of this task's open atomic() or connection() "
        "block"
        + (' and, after DATABASE_POOL["close_timeout"], its connection' if forced else "")
        + ": its statements cannot run elsewhere (they would escape the block's transaction), "
        "and its uncommitted work is rolled back. Let such blocks end before disconnecting."
    )


def _outcome_unknown(sql: str, error: BaseException) -> WriteOutcomeUnknownError:
    """The error for a statement whose connection broke after it was sent."""
    statement = " ".join(sql.split())
    if len(statement) > 120:
        statement = statement[:117] + "..."
    return WriteOutcomeUnknownError(
        f"The database connection was lost after this statement was sent, so it may or may "
        f"not have been applied: {statement} ({type(error).__name__}: {error}). It was not "
        "retried, so that it cannot be applied twice: check whether its effect is present "
        "before running it again. A statement that changes nothing can be marked "
        "read_only=True (Database.fetch) to be retried on another connection."
    )


class StatementLock:
    """One statement at a time on a pinned connection. Free, it is taken without a
    coroutine (``held = True``); a release hands it straight to the first waiter."""

    __slots__ = ("held", "waiters")

    def __init__(self) -> None:
        self.held = False
        self.waiters: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        """Whether a statement holds the connection."""
        return self.held

    async def wait(self) -> None:
        """Wait until a release hands the held lock to this task."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed the lock, then cancelled: pass it on
            elif waiter in self.waiters:  # a release may have dropped it already
                self.waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the lock to the first task still waiting, or free it."""
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.held = False


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
        "on_commit",
        "savepoints",
        "turn",
        "written",
    )

    def __init__(self, database: Database, connection: Connection) -> None:
        self.database = database
        self.connection = connection
        self.depth = 0
        self.closed = False
        self.lock = StatementLock()
        self.frames: list[object] = []  # open atomic() blocks, innermost last
        self.turn = asyncio.Condition()
        self.savepoints = 0
        #: Per open atomic() frame: the tables its writes changed, announced at the
        #: outermost commit (a savepoint released hands them to its parent frame).
        self.written: dict[object, set[str]] = {}
        #: (frame, callback) registered by on_commit(), run after the outermost commit.
        self.on_commit: list[tuple[object, Callable[[], Any]]] = []

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
        limit = self.database.pool_options["acquire_timeout"]
        try:
            async with asyncio.timeout(limit), self.turn:
                await self.turn.wait_for(lambda: not self.frames or self.frames[-1] is mine)
        except TimeoutError:
            raise TransactionError(
                f'This statement waited {limit}s (DATABASE_POOL["acquire_timeout"]) for its '
                "turn on its transaction's connection: a sibling task keeps a nested atomic() "
                "block (a savepoint) open on it, and statements outside that block must wait "
                "for it to end. If that task waits for this one, neither can go on: start or "
                "await sibling tasks outside the nested block, or give each task an atomic() "
                "of its own."
            ) from None


_frame: ContextVar[object | None] = ContextVar("aksara_atomic_frame", default=None)


_binding: ContextVar[Binding | None] = ContextVar("aksara_connection", default=None)

#: Set while a replica's health is checked: its failure must show, not fall back.
_checking: ContextVar[bool] = ContextVar("aksara_replica_check", default=False)


def current_binding() -> Binding | None:
    """Return the connection pinned to the current task, if any."""
    return _binding.get()


def _make_backend(url: str, pool: dict[str, Any], pgbouncer: bool = False) -> Backend:
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        from aksara.db.backends.sqlite import SQLiteBackend

        return SQLiteBackend(parsed.target, pool)
    from aksara.db.backends.postgres import PostgresBackend

    return PostgresBackend(parsed.target, pool, transaction_pooling=pgbouncer)


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
        sql_cache_size: int | None = None,
        alias: str = "default",
        pgbouncer: bool = False,
    ) -> None:
        #: The name of this database in ``DATABASES`` (``"default"`` for DATABASE_URL).
        self.alias = alias
        self.url = url
        self.pool_options = pool
        #: Behind PgBouncer in transaction mode: no prepared statement outlives a statement.
        self.pgbouncer = pgbouncer
        self.backend: Backend = _make_backend(url, pool, pgbouncer)
        self.dialect: Dialect = self.backend.dialect
        self.name: str = self.backend.name
        self.slow_query_ms = slow_query_ms
        self.slow_query_handler = slow_query_handler
        self.log_queries = log_queries
        self.stats = QueryStats()
        #: The ORM's compiled statements for this database (``SQL_CACHE_SIZE``).
        self.statements = StatementCache(
            settings.SQL_CACHE_SIZE if sql_cache_size is None else sql_cache_size
        )
        self._opened = False
        self._opening: asyncio.Lock | None = None
        #: For a read replica: told when it cannot be reached, returns the database the
        #: read runs on instead (the primary), or None to raise.
        self.fallback: Callable[[Database, Exception], Database | None] | None = None

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

    def fetch(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        read_only: bool = False,
        keeps_session: bool = False,
    ) -> Coroutine[Any, Any, list[Row]]:
        """Run a statement and return its rows.

        ``read_only=True`` says the statement changes nothing (a plain SELECT): when its
        pooled connection is lost it is retried on another. Other statements are retried
        only when they never reached the database, else :class:`WriteOutcomeUnknownError`.
        Unless ``keeps_session=True`` promises it changes no session state (no SET, advisory
        lock, LISTEN, temporary table...; the ORM's statements), its connection is reset
        before it serves anyone else.
        """
        # The statement's own coroutine, no extra frame: this is every query's path.
        return self._statement(sql, params, read_only, keeps_session, True)

    async def fetchrow(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        read_only: bool = False,
        keeps_session: bool = False,
    ) -> Row | None:
        """Run a statement and return its first row, or None (options as in fetch)."""
        rows = await self.fetch(sql, params, read_only=read_only, keeps_session=keeps_session)
        return rows[0] if rows else None

    async def fetchval(
        self,
        sql: str,
        params: Sequence[Any] = (),
        *,
        read_only: bool = False,
        keeps_session: bool = False,
    ) -> Any:
        """Run a statement and return the first column of its first row, or None."""
        rows = await self.fetch(sql, params, read_only=read_only, keeps_session=keeps_session)
        return rows[0][0] if rows else None

    def execute(
        self, sql: str, params: Sequence[Any] = (), *, keeps_session: bool = False
    ) -> Coroutine[Any, Any, int]:
        """Run a statement that returns no rows; return how many rows it changed.

        It is retried only when it never reached the database; ``keeps_session`` as in
        :meth:`fetch`.
        """
        return self._statement(sql, params, False, keeps_session, False)

    async def _statement(
        self,
        sql: str,
        params: Sequence[Any],
        read_only: bool,
        keeps_session: bool,
        returns_rows: bool,
    ) -> Any:
        """The one path of every statement: the rows (*returns_rows*) or the changed count."""
        if not self._opened:
            try:
                await self.open()
            except Exception as error:
                other = self._elsewhere(error, read_only)
                if other is None:
                    raise
                return await other._statement(sql, params, read_only, keeps_session, returns_rows)
        binding = _binding.get()
        dirty = not keeps_session and self.backend.may_change_session(sql)
        result: Any  # the rows, or the changed count
        start = perf_counter()
        try:
            if binding is not None and binding.database is self:
                # Pinned: inline rather than a coroutine of its own, as every level between
                # the caller and the driver is paid again on the way back.
                if dirty:
                    binding.connection.dirty = True
                # The common case (the block's own task, no savepoint of a sibling open)
                # decides its turn without a coroutine; wait_turn() checks everything again
                # otherwise.
                frames = binding.frames
                if binding.closed or (frames and frames[-1] is not _frame.get()):
                    await binding.wait_turn()
                lock = binding.lock
                if lock.held:
                    await lock.wait()
                else:
                    lock.held = True
                connection = binding.connection
                try:
                    if returns_rows:
                        result = await connection.fetch(sql, params)
                    else:
                        result = await connection.execute(sql, params)
                except Exception as error:
                    self._check_bound(binding, sql, error, read_only)
                    raise
                finally:
                    lock.release()
            else:
                if binding is not None and not binding.database._opened and not binding.closed:
                    raise _closed_under(binding)
                backend = self.backend
                run = backend.fetch if returns_rows else backend.execute
                try:
                    result = await run(sql, params, dirty)
                except Exception as error:
                    result = await self._run_again(run, sql, params, dirty, read_only, error)
        except Exception as error:
            failure = self._failed(sql, params, start, error)
            if self.fallback is not None:
                other = self._elsewhere(failure, read_only)
                if other is not None:
                    return await other._statement(
                        sql, params, read_only, keeps_session, returns_rows
                    )
            if failure is error:
                raise
            raise failure from error
        duration = (perf_counter() - start) * 1000.0
        self.stats.record(duration)
        changed = len(result) if returns_rows else result
        slow = self.slow_query_ms
        if _listeners.get() or self.log_queries or (slow is not None and duration >= slow):
            self._report(sql, params, duration, changed)
        # A read (SELECT; SAVEPOINT too) is decided by its first character.
        if sql and sql[0] != "S" and _write_hooks:
            tables = self._written(sql, binding, changed)
            if tables:
                await announce_writes(tables)
        return result

    def _elsewhere(self, error: Exception, read_only: bool) -> Database | None:
        """The database a read goes to when this one (a replica) cannot be reached, or None."""
        fallback = self.fallback
        if (
            fallback is None
            or not read_only
            or _checking.get()
            or not isinstance(
                error, (ConnectionLostError, DatabaseUnavailableError, PoolTimeoutError)
            )
        ):
            return None
        other = fallback(self, error)
        return (
            other if other is not None and other.name == self.name and other is not self else None
        )

    def _written(self, sql: str, binding: Binding | None, changed: int) -> frozenset[str]:
        """The tables a write changed, to announce now; inside atomic() they are kept
        for the outermost commit instead (and nothing is returned)."""
        told = statement_tables(sql)
        if told.unknown_write:
            tables = frozenset((EVERY_TABLE,))
        elif told.writes and changed != 0:  # 0 rows: nothing changed
            tables = told.writes
            if told.deletes:
                tables = deleted_tables(tables)
        else:
            return frozenset()
        if binding is not None and binding.database is self and binding.depth:
            binding.written.setdefault(binding.frames[-1], set()).update(tables)
            return frozenset()
        return tables

    async def _run_again(
        self,
        run: Callable[[str, Sequence[Any], bool], Awaitable[T]],
        sql: str,
        params: Sequence[Any],
        dirty: bool,
        read_only: bool,
        error: Exception,
    ) -> T:
        """Retry a pooled statement whose connection was lost, when that cannot change data.

        Every pooled connection may have died at once (a server restart): a read is tried
        on each, the last attempt on a freshly opened one.
        """
        backend = self.backend
        retries = self.pool_options["max_size"]
        while True:
            if not backend.is_connection_lost(error):
                raise error
            if not backend.is_unsent(error) and not (read_only and _is_plain_read(sql)):
                raise _outcome_unknown(sql, error) from error
            if retries == 0:
                raise error
            retries -= 1
            try:
                return await run(sql, params, dirty)
            except Exception as again:
                error = again

    def _check_bound(self, binding: Binding, sql: str, error: Exception, read_only: bool) -> None:
        """Name what a failed pinned statement means when its connection is gone."""
        if binding.connection.closed_by_pool:
            raise _closed_under(binding) from error
        backend = self.backend
        if (
            binding.depth == 0
            and not read_only
            and backend.is_connection_lost(error)
            and not backend.is_unsent(error)
            and sql != "ROLLBACK"
            and sql != self.dialect.begin_statement
        ):
            # Outside a transaction (COMMIT included) the statement commits on its own: it
            # may have. A transaction lost before its COMMIT was rolled back by the server.
            raise _outcome_unknown(sql, error) from error

    def _report(self, sql: str, params: Sequence[Any], duration: float, rows: int) -> None:
        """Tell the listeners, the query log and the slow-query report, when one applies."""
        listeners = _listeners.get()
        if listeners:
            event = QueryEvent(sql, params, duration, rows, self.name, alias=self.alias)
            for listener in listeners:
                listener(event)
        if self.log_queries:
            log_query(sql, params, duration, rows, known=self.statements.secrets)
        if self.slow_query_ms is not None and duration >= self.slow_query_ms:
            report_slow(
                sql, params, duration, self.name, self.slow_query_handler, self.statements.secrets
            )

    def _failed(self, sql: str, params: Sequence[Any], start: float, error: Exception) -> Exception:
        duration = (perf_counter() - start) * 1000.0
        translated = self.backend.translate_error(error)
        result: Exception = translated if translated is not None else error
        self.stats.record_error(duration)
        if self.log_queries:
            log_query(sql, params, duration, 0, error=result, known=self.statements.secrets)
        listeners = _listeners.get()
        if listeners:
            event = QueryEvent(sql, params, duration, 0, self.name, result, self.alias)
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
        return f"<Database {self.alias} {self.name} {mask_url(self.url)!r} open={self._opened}>"
