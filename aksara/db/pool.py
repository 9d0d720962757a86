"""A LIFO pool of driver connections, shared by the PostgreSQL and SQLite backends.

The most recently released connection is handed out first, so sequential work stays on
one warm connection (and server backend). Taking an idle connection and giving back a clean
one are plain list operations with no await; only a connection that needs settling (an open
transaction, a cancelled statement, session state changed by user SQL) costs a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from aksara.db.backends.base import Connection, PoolStatus
from aksara.exceptions import DatabaseClosedError, PoolTimeoutError

__all__ = ["Pool", "PooledConnection"]

_log = logging.getLogger("aksara.db")


class PooledConnection(Connection):
    """A driver connection a :class:`Pool` manages: use counters and how to settle or end it.

    ``dirty``: a statement that may have changed session state ran on it, so it is settled
    (reset, or discarded) before anyone else gets it.
    """

    __slots__ = ()

    queries: int
    last_used: float
    dirty: bool

    @abstractmethod
    def is_closed(self) -> bool:
        """True when the driver connection is closed (or was found dead)."""

    def needs_settling(self) -> bool:
        """True when it cannot go back as it is: a statement was cancelled, a transaction
        is open, or session state may have changed."""
        return self.broken or self.dirty or self.in_transaction

    @abstractmethod
    async def settle(self) -> None:
        """Make it fit for the next user; raises when it cannot (the pool then discards it)."""

    @abstractmethod
    async def close(self) -> None:
        """Close it gracefully (it is idle)."""

    @abstractmethod
    async def abort(self) -> None:
        """End it now, whatever it still runs."""


C = TypeVar("C", bound=PooledConnection)


class Pool(Generic[C]):
    """``min_size`` to ``max_size`` connections opened by *opener*, handed out LIFO.

    A connection is retired after ``max_queries`` statements, or when idle longer than
    ``max_idle`` seconds; waiting for one is bounded by ``acquire_timeout``; ``close()``
    waits ``close_timeout`` for connections in use, then aborts them under their holders.
    """

    def __init__(
        self,
        opener: Callable[[], Awaitable[C]],
        options: dict[str, Any],
        *,
        label: str,
        max_size: int | None = None,
        timeout_hint: str = "",
    ) -> None:
        self._opener = opener
        self._label = label
        self._timeout_hint = timeout_hint
        self.max_size: int = options["max_size"] if max_size is None else max_size
        self._min_size: int = min(options["min_size"], self.max_size)
        self._max_queries: int = options["max_queries"] or 0
        self._max_idle: float = options["max_inactive_connection_lifetime"] or 0.0
        self._acquire_timeout: float = options["acquire_timeout"]
        self._close_timeout: float = options["close_timeout"]
        self._idle: deque[C] = deque()
        self._waiters: deque[asyncio.Future[C]] = deque()
        self._size = 0
        self._closed = True
        self._connections: set[C] = set()  # open ones, idle or in use
        self._background: set[asyncio.Task[None]] = set()  # closes, aborts and reopens
        self._drained: asyncio.Event | None = None  # set when a closing pool has none left
        self._reaper: asyncio.TimerHandle | None = None

    @property
    def is_closed(self) -> bool:
        """True before ``open()`` and once ``close()`` began."""
        return self._closed

    async def open(self) -> None:
        """Open ``min_size`` connections."""
        self._closed = False
        for _ in range(self._min_size - self._size):
            self._size += 1
            try:
                connection = await self._opener()
            except BaseException:
                self._forget(None)
                raise
            self._connections.add(connection)
            self._idle.append(connection)

    async def _open_one(self, *, reserved: bool = False) -> C:
        if not reserved:
            self._size += 1
        try:
            connection = await self._opener()
        except BaseException:
            self._forget(None)
            raise
        self._connections.add(connection)
        return connection

    def _forget(self, connection: C | None) -> None:
        """Count *connection* (None: one that failed to open) out of the pool."""
        self._size -= 1
        if connection is not None:
            self._connections.discard(connection)
        if self._drained is not None and self._size <= 0:
            self._drained.set()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _quietly(self, work: Awaitable[None]) -> None:
        with contextlib.suppress(Exception):
            await work

    def _retire(self, connection: C) -> None:
        """Close an idle connection in the background."""
        self._forget(connection)
        self._spawn(self._quietly(connection.close()))

    async def acquire(self) -> C:
        """Take the most recently released usable connection, open one, or wait for one."""
        if self._closed:
            raise DatabaseClosedError(
                f"The {self._label} pool is closed (disconnect() ran); open it again with "
                "`await aksara.connect()` before running queries."
            )
        idle = self._idle
        if idle:
            max_queries = self._max_queries
            oldest = time.monotonic() - self._max_idle if self._max_idle else 0.0
            while idle:
                connection = idle.pop()
                if connection.is_closed():
                    self._forget(connection)
                    self._lost()
                    continue
                if (max_queries and connection.queries >= max_queries) or (
                    connection.last_used < oldest
                ):
                    self._retire(connection)
                    continue
                return connection
        if self._size < self.max_size:
            return await self._open_one()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[C] = loop.create_future()
        self._waiters.append(waiter)
        # A timer on the waiter itself: asyncio.timeout() costs several times more, and
        # under load most acquires wait.
        timer = loop.call_later(self._acquire_timeout, _expire, waiter)
        try:
            return await waiter
        except TimeoutError:
            # Only _expire() fails the waiter, and only while nothing was handed over: a
            # connection given to this waiter is never lost to a timeout.
            raise PoolTimeoutError(
                f"No database connection became free within {self._acquire_timeout}s: all "
                f'{self.max_size} connections of DATABASE_POOL["max_size"] stayed in use. '
                'Raise DATABASE_POOL["max_size"] (or "acquire_timeout"), or run fewer queries '
                "at once." + self._timeout_hint
            ) from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_back(waiter.result())
            raise
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _give_back(self, connection: C) -> None:
        connection.last_used = time.monotonic()
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)
        if self._max_idle and self._reaper is None:
            self._reaper = asyncio.get_running_loop().call_later(self._max_idle, self._reap)

    def _reap(self) -> None:
        """Close the connections idle past their lifetime, down to ``min_size``."""
        self._reaper = None
        oldest = time.monotonic() - self._max_idle
        for connection in list(self._idle):
            if self._size <= self._min_size:
                break
            if connection.last_used < oldest:
                self._idle.remove(connection)
                self._retire(connection)
        if self._idle and self._size > self._min_size and not self._closed:
            self._reaper = asyncio.get_running_loop().call_later(self._max_idle, self._reap)

    def _lost(self) -> None:
        """A connection died on its own: the idle ones, as old, likely died with it (a server
        restart) without the client having noticed yet, so none is handed out again."""
        while self._idle:
            self._retire(self._idle.pop())

    async def release(self, connection: C) -> None:
        """Give *connection* back: at once when clean, else settled (or discarded) first."""
        if connection.closed_by_pool:
            self._discard(connection, abort=False)
        elif connection.is_closed():
            self._discard(connection, abort=False)
            self._lost()
        elif self._closed or connection.needs_settling():
            await asyncio.shield(self._settle(connection))
        else:
            self._give_back(connection)

    async def _settle(self, connection: C) -> None:
        try:
            await connection.settle()
        except Exception:
            self._discard(connection, abort=True)
            return
        if self._closed:
            self._forget(connection)
            await self._quietly(connection.close())
            return
        self._give_back(connection)

    def _discard(self, connection: C, *, abort: bool) -> None:
        """End *connection* in the background and let a waiter have a new one."""
        self._forget(connection)
        if abort:
            self._spawn(self._quietly(connection.abort()))
        if (
            not self._closed
            and self._size < self.max_size
            and any(not waiter.done() for waiter in self._waiters)
        ):
            self._size += 1  # reserved now, so no acquire() opens past max_size meanwhile
            self._spawn(self._open_for_waiter())

    async def _open_for_waiter(self) -> None:
        try:
            connection = await self._open_one(reserved=True)
        except Exception as error:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_exception(error)
                    break
            return
        if self._closed:
            self._forget(connection)
            await self._quietly(connection.close())
            return
        self._give_back(connection)

    async def close(self) -> None:
        """Close the pool: waiters get DatabaseClosedError, idle connections close at once,
        those in use when they come back or, after ``close_timeout``, under their holder."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(
                    DatabaseClosedError(
                        f"The {self._label} pool was closed (disconnect()) while this task "
                        "waited for a connection; let queries finish before disconnecting."
                    )
                )
        self._waiters.clear()
        while self._idle:
            connection = self._idle.popleft()
            self._forget(connection)
            await self._quietly(connection.close())
        if self._size > 0:
            self._drained = asyncio.Event()
            try:
                async with asyncio.timeout(self._close_timeout):
                    await self._drained.wait()
            except TimeoutError:
                in_use = list(self._connections)
                _log.warning(
                    "disconnect(): %d %s connection(s) still in use after "
                    'DATABASE_POOL["close_timeout"] (%ss), e.g. held by an open atomic() or '
                    "connection() block; closing them under their holders.",
                    len(in_use),
                    self._label,
                    self._close_timeout,
                )
                for connection in in_use:
                    connection.broken = connection.closed_by_pool = True
                    self._spawn(self._quietly(connection.abort()))
            finally:
                self._drained = None
        if self._background:
            await asyncio.wait(set(self._background), timeout=self._close_timeout)

    def status(self) -> PoolStatus:
        """Open connections, those in use, those idle, the maximum and the tasks waiting."""
        idle = len(self._idle)
        waiting = sum(1 for waiter in self._waiters if not waiter.done())
        return PoolStatus(self._size, self._size - idle, idle, self.max_size, waiting)


def _expire(waiter: asyncio.Future[Any]) -> None:
    """Fail a waiter still waiting for a connection when its acquire timeout passes."""
    if not waiter.done():
        waiter.set_exception(TimeoutError())
