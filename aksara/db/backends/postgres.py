"""PostgreSQL through an asyncpg pool."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import orjson

from aksara.conf import mask_url
from aksara.db.backends.base import Backend, Connection, PoolStatus, Row
from aksara.db.dialects.postgres import PostgresDialect
from aksara.exceptions import (
    ConnectionLostError,
    DatabaseClosedError,
    DatabaseError,
    DatabaseUnavailableError,
    IntegrityError,
    PoolTimeoutError,
)

__all__ = ["PostgresBackend"]

_log = logging.getLogger("aksara.db")


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> Any:
    return orjson.loads(data[1:])


_new = object.__new__
_set = object.__setattr__
_UUID = uuid.UUID
_UUID_SAFE = uuid.SafeUUID.unknown


def _decode_uuid(data: bytes) -> uuid.UUID:
    # uuid.UUID itself, as SQLite gives (asyncpg's own subclass is refused by orjson), built
    # without UUID.__init__'s argument parsing: as fast as asyncpg's C decoder (measured
    # 29.6 ms against 30.3 ms for 10,000 rows; UUID(bytes=...) took 57.7 ms).
    value = _new(_UUID)
    _set(value, "int", int.from_bytes(data))
    _set(value, "is_safe", _UUID_SAFE)
    return value


def _encode_uuid(value: Any) -> bytes:
    if isinstance(value, _UUID):
        return value.bytes
    if isinstance(value, bytes) and len(value) == 16:
        return value
    return _UUID(str(value)).bytes


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "uuid", encoder=_encode_uuid, decoder=_decode_uuid, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await connection.set_type_codec(
        "json",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def _reset_nothing(connection: asyncpg.Connection) -> None:
    # asyncpg rolls back an open transaction before calling this; Aksara leaves no other
    # session state behind, so the default RESET ALL round trip on every release is skipped.
    return None


def _rowcount(status: str) -> int:
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


def _describe(dsn: str) -> tuple[str, str, str]:
    """``(host:port, database, user)`` of a PostgreSQL URL, with libpq's defaults."""
    parts = urlsplit(dsn)
    try:
        port = parts.port or 5432
    except ValueError:
        port = 5432
    user = unquote(parts.username or "") or getpass.getuser()
    database = unquote(parts.path.lstrip("/")) or user
    return f"{parts.hostname or 'localhost'}:{port}", database, user


def _unavailable(dsn: str, error: BaseException) -> DatabaseUnavailableError | None:
    """Why no connection could be opened, with what to check; None for other errors."""
    address, database, user = _describe(dsn)
    if isinstance(error, asyncpg.InvalidCatalogNameError):
        advice = (
            f"the server at {address} has no database {database!r}: create it "
            f"(createdb {database}) or fix the database name"
        )
    elif isinstance(error, asyncpg.InvalidPasswordError):
        advice = f"the server refused the password of user {user!r}: check the user and password"
    elif isinstance(error, asyncpg.InvalidAuthorizationSpecificationError):
        advice = (
            f"the server refused user {user!r}: check that the role exists, may log in and "
            "may connect to this database (pg_hba.conf)"
        )
    elif isinstance(error, (asyncpg.CannotConnectNowError, asyncpg.TooManyConnectionsError)):
        advice = f"the server at {address} accepts no connection now: retry later, or raise its max_connections"
    elif isinstance(error, OSError) and not isinstance(error, TimeoutError):
        advice = (
            f"nothing answered at {address}: check that PostgreSQL runs there and that "
            "DATABASE_URL's host and port are right"
        )
    elif isinstance(error, asyncpg.ClientConfigurationError):
        advice = "the URL's options are invalid"
    else:
        return None
    return DatabaseUnavailableError(
        f"Cannot connect to PostgreSQL: {advice} (DATABASE_URL {mask_url(dsn)!r}; "
        f"{type(error).__name__}: {error})."
    )


def _terminate(connection: Any) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):  # already back in the pool, closed
        connection.terminate()


class PostgresConnection(Connection):
    """An asyncpg connection taken from the pool.

    ``broken`` is set when a statement was cancelled or timed out: asyncpg asks the server
    to cancel it, and the connection must wait for that answer before it is reused.
    """

    __slots__ = ("_connection", "broken", "closed_by_pool", "pool")

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection
        self.pool: Any = None
        self.broken = False
        self.closed_by_pool = False

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        try:
            result: list[Row] = await self._connection.fetch(sql, *params)
        except (asyncio.CancelledError, TimeoutError):
            self.broken = True
            raise
        return result

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        try:
            return _rowcount(await self._connection.execute(sql, *params))
        except (asyncio.CancelledError, TimeoutError):
            self.broken = True
            raise

    @property
    def in_transaction(self) -> bool:
        return bool(self._connection.is_in_transaction())

    @property
    def raw(self) -> Any:
        return self._connection


class PostgresBackend(Backend):
    """An asyncpg pool built from ``DATABASE_POOL``."""

    name = "postgresql"

    def __init__(self, dsn: str, pool: dict[str, Any]) -> None:
        self.dialect = PostgresDialect()
        self._dsn = dsn
        self._options = pool
        self._acquire_timeout: float = pool["acquire_timeout"]
        self._close_timeout: float = pool["close_timeout"]
        self._pool: asyncpg.Pool | None = None
        self._pinned: set[PostgresConnection] = set()  # acquired by connection()/atomic()

    async def open(self) -> None:
        options = self._options
        server_settings = {} if "application_name" in self._dsn else {"application_name": "aksara"}
        try:
            self._pool = await self._create_pool(options, server_settings)
        except Exception as error:
            raise (_unavailable(self._dsn, error) or error) from error

    async def _create_pool(
        self, options: dict[str, Any], server_settings: dict[str, str]
    ) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self._dsn,
            min_size=options["min_size"],
            max_size=options["max_size"],
            max_queries=options["max_queries"] or 50_000,
            max_inactive_connection_lifetime=options["max_inactive_connection_lifetime"],
            command_timeout=options["command_timeout"],
            statement_cache_size=options["statement_cache_size"],
            init=_init_connection,
            reset=_reset_nothing,
            server_settings=server_settings,
        )

    async def close(self) -> None:
        """Close the pool; connections still in use after ``close_timeout`` are terminated."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        try:
            async with asyncio.timeout(self._close_timeout):
                await pool.close()
        except TimeoutError:
            pinned = [c for c in self._pinned if c.pool is pool]
            _log.warning(
                "disconnect(): PostgreSQL connection(s) still in use after "
                'DATABASE_POOL["close_timeout"] (%ss), %d of them held by an open atomic() or '
                "connection() block; terminating them.",
                self._close_timeout,
                len(pinned),
            )
            for connection in pinned:
                connection.broken = connection.closed_by_pool = True
            pool.terminate()

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise DatabaseClosedError(
                "The PostgreSQL pool is closed (disconnect() ran); open it again with "
                "`await aksara.connect()` before running queries."
            )
        return self._pool

    async def _acquire_raw(self, pool: asyncpg.Pool) -> asyncpg.Connection:
        try:
            if pool.get_idle_size():
                # An idle connection is there: no wait to bound, so no timer to arm (5 us a query).
                return await pool.acquire()
            async with asyncio.timeout(self._acquire_timeout):
                return await pool.acquire()
        except TimeoutError:
            raise PoolTimeoutError(
                f"No database connection became free within {self._acquire_timeout}s: all "
                f'{self._options["max_size"]} connections of DATABASE_POOL["max_size"] stayed '
                'in use. Raise DATABASE_POOL["max_size"] (or "acquire_timeout"), or run fewer '
                "queries at once."
            ) from None
        except Exception as error:
            # The pool opens connections on demand: a failure here is one to connect.
            failure: DatabaseError | None = _unavailable(self._dsn, error)
            if failure is None and pool is not self._pool:
                failure = DatabaseClosedError(
                    "The PostgreSQL pool was closed (disconnect()) while this task waited for "
                    "a connection; finish queries before disconnecting."
                )
            raise (failure or error) from error

    async def _give_back(
        self, pool: asyncpg.Pool, connection: Any, error: BaseException | None
    ) -> None:
        timeout = None
        if error is not None:
            if self.is_connection_lost(error):
                _terminate(connection)  # never hand a half-dead connection out again
            elif isinstance(error, (asyncio.CancelledError, TimeoutError)):
                # asyncpg waits for the server to confirm the cancelled statement stopped
                # before it pools the connection: bounded, then terminated.
                timeout = self._close_timeout
        try:
            await pool.release(connection, timeout=timeout)
        except Exception:
            _terminate(connection)

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        pool = self._require_pool()
        connection = await self._acquire_raw(pool)
        failure: BaseException | None = None
        try:
            result: list[Row] = await connection.fetch(sql, *params)
            return result
        except BaseException as error:
            failure = error
            raise
        finally:
            await self._give_back(pool, connection, failure)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        pool = self._require_pool()
        connection = await self._acquire_raw(pool)
        failure: BaseException | None = None
        try:
            return _rowcount(await connection.execute(sql, *params))
        except BaseException as error:
            failure = error
            raise
        finally:
            await self._give_back(pool, connection, failure)

    async def acquire(self) -> Connection:
        pool = self._require_pool()
        connection = PostgresConnection(await self._acquire_raw(pool))
        connection.pool = pool
        self._pinned.add(connection)
        return connection

    async def release(self, connection: Connection) -> None:
        assert isinstance(connection, PostgresConnection)
        self._pinned.discard(connection)
        raw = connection.raw
        failure: BaseException | None = None
        try:
            if raw.is_closed():
                pass
            elif connection.broken:
                # After a cancelled statement the transaction state is known only once the
                # server answered the cancel request, which asyncpg awaits before ROLLBACK.
                async with asyncio.timeout(self._close_timeout):
                    await raw.execute("ROLLBACK")
            elif raw.is_in_transaction():
                await raw.execute("ROLLBACK")
        except Exception as error:
            failure = error
            _terminate(raw)
        await self._give_back(connection.pool, raw, failure)

    def translate_error(self, error: BaseException) -> DatabaseError | None:
        if isinstance(error, DatabaseError):
            return error
        if isinstance(error, asyncpg.IntegrityConstraintViolationError):
            constraint = getattr(error, "constraint_name", None)
            column = getattr(error, "column_name", None)
            table = getattr(error, "table_name", None)
            if constraint is None and column and table:
                constraint = f"{table}_{column}_not_null"
            detail = getattr(error, "detail", None)
            message = str(error) + (f" ({detail})" if detail else "")
            return IntegrityError(message, constraint=constraint)
        if isinstance(
            error, (asyncpg.StringDataRightTruncationError, asyncpg.NumericValueOutOfRangeError)
        ):
            # SQLite reports the same overflows through its CHECK constraints and STRICT
            # column types: one error class for both.
            return IntegrityError(str(error), constraint=None)
        if self.is_connection_lost(error):
            return ConnectionLostError(f"The PostgreSQL connection was lost: {error}")
        if isinstance(error, TimeoutError):
            return DatabaseError('The statement ran longer than DATABASE_POOL["command_timeout"].')
        if isinstance(error, (asyncpg.PostgresError, asyncpg.InterfaceError)):
            return DatabaseError(str(error))
        return None

    def is_connection_lost(self, error: BaseException) -> bool:
        if isinstance(error, (asyncpg.ConnectionDoesNotExistError, ConnectionError)):
            return True
        if isinstance(error, asyncpg.AdminShutdownError):
            return True
        if isinstance(error, asyncpg.exceptions.InternalClientError):
            # asyncpg's protocol state after the server ended the session (MagicStack/asyncpg#1069)
            return "another operation" in str(error)
        return isinstance(error, asyncpg.InterfaceError) and (
            "connection is closed" in str(error) or "released back to the pool" in str(error)
        )

    def is_unsent(self, error: BaseException) -> bool:
        # asyncpg checks the connection and protocol state before it writes a statement.
        if isinstance(error, asyncpg.exceptions.InternalClientError):
            return "another operation" in str(error)
        return isinstance(error, asyncpg.InterfaceError) and (
            "connection is closed" in str(error) or "released back to the pool" in str(error)
        )

    def status(self) -> PoolStatus:
        pool = self._pool
        if pool is None:
            return PoolStatus(0, 0, 0, self._options["max_size"])
        size = pool.get_size()
        idle = pool.get_idle_size()
        return PoolStatus(size, size - idle, idle, pool.get_max_size())
