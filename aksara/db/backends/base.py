"""The interface every driver backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from aksara.db.dialects.base import Dialect
from aksara.exceptions import DatabaseError

__all__ = ["Backend", "Connection", "PoolStatus", "Row"]

Row = Sequence[Any]


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """A snapshot of a connection pool: open connections, those in use, those idle, the
    maximum, and the tasks waiting for a connection."""

    size: int
    in_use: int
    idle: int
    max_size: int
    waiting: int = 0


class Connection(ABC):
    """One driver connection, as the database layer uses it.

    ``broken``: a statement was cancelled or timed out, so its state is unknown until
    settled; ``closed_by_pool``: ``close()`` gave up waiting for it and closed it;
    ``dirty``: a statement that may have changed session state ran on it.
    """

    broken: bool
    closed_by_pool: bool
    dirty: bool

    @abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Run *sql* and return all its rows."""

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run *sql* and return the number of rows it changed."""

    @property
    @abstractmethod
    def in_transaction(self) -> bool:
        """True while a transaction is open on this connection."""

    @property
    @abstractmethod
    def raw(self) -> Any:
        """The driver's own connection object."""


class Backend(ABC):
    """A pool of connections to one database, plus how its driver reports errors."""

    name: ClassVar[str]
    dialect: Dialect

    @abstractmethod
    async def open(self) -> None:
        """Open the pool (its ``min_size`` connections)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection; waits for those in use to come back."""

    @abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any], dirty: bool = False) -> list[Row]:
        """Run *sql* on a pooled connection and return all rows.

        ``dirty``: it may change session state, so the connection is settled before reuse.
        """

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any], dirty: bool = False) -> int:
        """Run *sql* on a pooled connection and return the affected row count."""

    def may_change_session(self, sql: str) -> bool:
        """True when user *sql* may leave session state behind on its connection.

        Any statement may, through a function it calls; a driver whose SQL cannot changes this.
        """
        return True

    @abstractmethod
    async def acquire(self) -> Connection:
        """Take a connection from the pool, waiting at most the acquire timeout."""

    @abstractmethod
    async def release(self, connection: Connection) -> None:
        """Give *connection* back, rolled back if a transaction was left open."""

    @abstractmethod
    def translate_error(self, error: BaseException) -> DatabaseError | None:
        """Map a driver exception to Aksara's hierarchy; None for non-driver errors."""

    @abstractmethod
    def is_connection_lost(self, error: BaseException) -> bool:
        """True when *error* means the connection died."""

    @abstractmethod
    def is_unsent(self, error: BaseException) -> bool:
        """True when *error* proves the statement never reached the database (safe to rerun)."""

    @abstractmethod
    def status(self) -> PoolStatus:
        """Return the pool's current size and use."""
