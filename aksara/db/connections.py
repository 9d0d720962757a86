"""The process's default database, built from the settings and opened on demand."""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any

from aksara.conf import settings
from aksara.db.database import Database

__all__ = ["connect", "disconnect", "get_database"]

_default: Database | None = None


def get_database() -> Database:
    """Return the default database, creating it from the settings on first use.

    The pool itself opens on the first query, or explicitly with :func:`connect`.
    """
    global _default
    if _default is None:
        _default = Database(
            settings.DATABASE_URL,
            settings.DATABASE_POOL,
            slow_query_ms=settings.SLOW_QUERY_MS,
            log_queries=settings.LOG_QUERIES or settings.DEBUG,
            slow_query_handler=settings.SLOW_QUERY_HANDLER,
        )
    return _default


class _Connect:
    """``await connect()`` opens the pool; ``async with connect():`` also closes it."""

    def __init__(self, url: str | None, pool: dict[str, Any] | None) -> None:
        self._url = url
        self._pool = pool

    async def _open(self) -> Database:
        global _default
        if self._url is not None or self._pool is not None:
            from aksara.conf import configure

            keys: dict[str, Any] = {}
            if self._url is not None:
                keys["DATABASE_URL"] = self._url
            if self._pool is not None:
                keys["DATABASE_POOL"] = self._pool
            configure(**keys)
            if _default is not None:
                await _default.close()
                _default = None
        database = get_database()
        await database.open()
        return database

    def __await__(self) -> Generator[Any, None, Database]:
        return self._open().__await__()

    async def __aenter__(self) -> Database:
        return await self._open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await disconnect()


def connect(url: str | None = None, *, pool: dict[str, Any] | None = None) -> _Connect:
    """Open the default database's pool (``url`` / ``pool`` override the settings).

    Use as ``await aksara.connect()`` or ``async with aksara.connect(): ...``.
    """
    return _Connect(url, pool)


async def disconnect() -> None:
    """Close the default database's pool; the next query builds it anew from the settings."""
    global _default
    if _default is not None:
        database, _default = _default, None
        await database.close()
