"""PostgreSQL through asyncpg connections in Aksara's own pool."""

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
from aksara.db.pool import Pool, PooledConnection
from aksara.exceptions import (
    ConnectionLostError,
    DatabaseError,
    DatabaseUnavailableError,
    IntegrityError,
    QueryTimeoutError,
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


def _terminate(connection: asyncpg.Connection) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):  # already closed
        connection.terminate()


def _is_lost(error: BaseException) -> bool:
    """True when *error* means the connection died."""
    if isinstance(error, (asyncpg.ConnectionDoesNotExistError, ConnectionError)):
        return True
    if isinstance(error, asyncpg.AdminShutdownError):
        return True
    if isinstance(error, asyncpg.exceptions.InternalClientError):
        # asyncpg's protocol state after the server ended the session (MagicStack/asyncpg#1069)
        return "another operation" in str(error)
    return isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)


#: Everything DISCARD ALL undoes except DEALLOCATE ALL, which would drop the prepared
#: statements asyncpg caches; one round trip, outside a transaction.
RESET_SESSION = (
    "SET SESSION AUTHORIZATION DEFAULT; RESET ALL; CLOSE ALL; UNLISTEN *; "
    "SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES"
)


class PostgresConnection(PooledConnection):
    """One asyncpg connection of Aksara's pool.

    ``broken`` is set when a statement was cancelled or timed out: asyncpg asks the server
    to cancel it, and the connection must wait for that answer before it is reused. A lost
    connection is terminated at once, so the pool never hands it out again.
    """

    __slots__ = (
        "_connection",
        "_settle_timeout",
        "broken",
        "closed_by_pool",
        "dirty",
        "last_used",
        "queries",
    )

    def __init__(self, connection: asyncpg.Connection, settle_timeout: float) -> None:
        self._connection = connection
        self._settle_timeout = settle_timeout
        self.queries = 0
        self.last_used = 0.0
        self.broken = False
        self.closed_by_pool = False
        self.dirty = False

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        self.queries += 1
        try:
            result: list[Row] = await self._connection.fetch(sql, *params)
        except (asyncio.CancelledError, TimeoutError):
            self.broken = True
            raise
        except Exception as error:
            if _is_lost(error):
                _terminate(self._connection)
            raise
        return result

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        self.queries += 1
        try:
            return _rowcount(await self._connection.execute(sql, *params))
        except (asyncio.CancelledError, TimeoutError):
            self.broken = True
            raise
        except Exception as error:
            if _is_lost(error):
                _terminate(self._connection)
            raise

    @property
    def in_transaction(self) -> bool:
        return bool(self._connection.is_in_transaction())

    @property
    def raw(self) -> Any:
        """The asyncpg connection; session state changed through it is not tracked."""
        return self._connection

    def is_closed(self) -> bool:
        return bool(self._connection.is_closed())

    async def settle(self) -> None:
        # After a cancelled statement the transaction state is known only once the server
        # answered the cancel request, which asyncpg awaits before the ROLLBACK: bounded.
        connection = self._connection
        async with asyncio.timeout(self._settle_timeout):
            if self.broken or connection.is_in_transaction():
                await connection.execute("ROLLBACK")
            if self.dirty:
                await connection.execute(RESET_SESSION)
        self.broken = self.dirty = False

    async def close(self) -> None:
        try:
            async with asyncio.timeout(self._settle_timeout):
                await self._connection.close()
        except BaseException:
            _terminate(self._connection)
            raise

    async def abort(self) -> None:
        _terminate(self._connection)


class PostgresBackend(Backend):
    """Aksara's LIFO pool of asyncpg connections, built from ``DATABASE_POOL``."""

    name = "postgresql"

    def __init__(
        self, dsn: str, pool: dict[str, Any], *, transaction_pooling: bool = False
    ) -> None:
        self.dialect = PostgresDialect()
        #: PgBouncer in transaction mode hands each transaction any server connection: a
        #: named prepared statement made on one is missing (or another's) on the next, so
        #: asyncpg's statement cache is off and every statement is prepared unnamed.
        self.transaction_pooling = transaction_pooling
        self._dsn = dsn
        self._options = pool
        self._pool: Pool[PostgresConnection] = Pool(self._connect, pool, label="PostgreSQL")

    async def _connect(self) -> PostgresConnection:
        options = self._options
        server_settings = {} if "application_name" in self._dsn else {"application_name": "aksara"}
        try:
            connection = await asyncpg.connect(
                self._dsn,
                command_timeout=options["command_timeout"],
                statement_cache_size=(
                    0 if self.transaction_pooling else options["statement_cache_size"]
                ),
                server_settings=server_settings,
            )
        except Exception as error:
            raise (_unavailable(self._dsn, error) or error) from error
        try:
            await _init_connection(connection)
        except BaseException:
            _terminate(connection)
            raise
        return PostgresConnection(connection, options["close_timeout"])

    async def open(self) -> None:
        await self._pool.open()

    async def close(self) -> None:
        """Close the pool; connections still in use after ``close_timeout`` are terminated."""
        await self._pool.close()

    async def fetch(self, sql: str, params: Sequence[Any], dirty: bool = False) -> list[Row]:
        pool = self._pool
        connection = await pool.acquire()
        if dirty:
            connection.dirty = True
        try:
            return await connection.fetch(sql, params)
        finally:
            await pool.release(connection)

    async def execute(self, sql: str, params: Sequence[Any], dirty: bool = False) -> int:
        pool = self._pool
        connection = await pool.acquire()
        if dirty:
            connection.dirty = True
        try:
            return await connection.execute(sql, params)
        finally:
            await pool.release(connection)

    async def acquire(self) -> Connection:
        return await self._pool.acquire()

    async def release(self, connection: Connection) -> None:
        assert isinstance(connection, PostgresConnection)
        await self._pool.release(connection)

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
            return QueryTimeoutError(
                'The statement ran longer than DATABASE_POOL["command_timeout"].'
            )
        if isinstance(error, asyncpg.QueryCanceledError):
            return QueryTimeoutError(f"The server cancelled the statement: {error}")
        if isinstance(error, (asyncpg.PostgresError, asyncpg.InterfaceError)):
            return DatabaseError(str(error))
        return None

    def is_connection_lost(self, error: BaseException) -> bool:
        return _is_lost(error)

    def is_unsent(self, error: BaseException) -> bool:
        # asyncpg checks the connection and protocol state before it writes a statement.
        if isinstance(error, asyncpg.exceptions.InternalClientError):
            return "another operation" in str(error)
        return isinstance(error, asyncpg.InterfaceError) and "connection is closed" in str(error)

    def status(self) -> PoolStatus:
        return self._pool.status()
