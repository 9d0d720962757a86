"""The process's databases (``DATABASES``, or ``DATABASE_URL`` as the one "default"),
built from the settings on first use, and the routing of each model's reads and writes."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from types import TracebackType
from typing import Any

from aksara.conf import settings
from aksara.db.database import Database
from aksara.db.replicas import ReplicaMonitor
from aksara.db.routing import Routing, mark_written
from aksara.exceptions import ConfigurationError, suggest

__all__ = [
    "Databases",
    "connect",
    "databases",
    "db_for_read",
    "db_for_related",
    "db_for_write",
    "disconnect",
    "get_database",
    "is_remembered",
    "replica_monitor",
]

_default: Database | None = None
#: None when no replica or router is configured: every read and write is the default's.
_routing: Routing | None = None


def _entries() -> dict[str, dict[str, Any]]:
    declared: dict[str, dict[str, Any]] | None = settings.DATABASES
    if declared is None:
        return {
            "default": {
                "url": settings.DATABASE_URL,
                "pool": settings.DATABASE_POOL,
                "max_lag": None,
            }
        }
    return declared


class Databases:
    """The databases by alias, each built from its settings entry on first use:
    ``databases["analytics"]``, ``"replica" in databases``, ``list(databases)``."""

    def __init__(self) -> None:
        self._built: dict[str, Database] = {}

    def __getitem__(self, alias: str) -> Database:
        database = self._built.get(alias)
        return database if database is not None else self._build(alias)

    def __contains__(self, alias: object) -> bool:
        return alias in _entries()

    def __iter__(self) -> Iterator[str]:
        return iter(list(_entries()))

    def __len__(self) -> int:
        return len(_entries())

    def built(self) -> list[Database]:
        """The databases built so far (those a query or connect() used)."""
        return list(self._built.values())

    def _build(self, alias: str) -> Database:
        global _default
        entries = _entries()
        entry = entries.get(alias)
        if entry is None:
            raise ConfigurationError(
                f"Unknown database alias {alias!r}.{suggest(alias, entries)} "
                f"Valid aliases: {', '.join(entries)}."
            )
        if alias != "default" and _default is None:
            self._build("default")  # routing and the default first, whatever is asked
            if alias in self._built:
                return self._built[alias]
        database = Database(
            entry["url"],
            entry["pool"],
            alias=alias,
            pgbouncer=entry.get("pgbouncer", False),
            slow_query_ms=settings.SLOW_QUERY_MS,
            log_queries=settings.LOG_QUERIES or settings.DEBUG,
            slow_query_handler=settings.SLOW_QUERY_HANDLER,
        )
        self._built[alias] = database
        if alias == "default":
            _default = database
            _setup_routing(entries)
        elif (
            _routing is not None
            and _routing.monitor is not None
            and alias in _routing.monitor.status
        ):
            database.fallback = _routing.fall_back
        return database

    async def close_all(self) -> None:
        """Close every built database's pool and forget them all."""
        built, self._built = list(self._built.values()), {}
        errors: list[BaseException] = []
        for database in built:
            try:
                await database.close()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]


databases = Databases()


def _setup_routing(entries: dict[str, dict[str, Any]]) -> None:
    global _routing
    replicas: list[str] = settings.READ_REPLICAS
    routers: list[Any] = settings.DATABASE_ROUTERS
    for alias in replicas:
        if alias not in entries:
            raise ConfigurationError(
                f"READ_REPLICAS names {alias!r}, which is not in DATABASES.{suggest(alias, entries)}"
                f" Valid aliases: {', '.join(entries)}."
            )
        if alias == "default":
            raise ConfigurationError('READ_REPLICAS cannot name "default", the primary.')
    if not replicas and not routers:
        _routing = None
        return
    watched = {
        alias: entry["max_lag"]
        for alias, entry in entries.items()
        if alias != "default" and (alias in replicas or entry["max_lag"] is not None)
    }
    monitor = (
        ReplicaMonitor(databases.__getitem__, watched, settings.REPLICA_CHECK_INTERVAL)
        if watched
        else None
    )
    _routing = Routing(databases.__getitem__, list(replicas), list(routers), monitor)


def get_database(alias: str = "default") -> Database:
    """Return the database of *alias* (``"default"``), building it from the settings on
    first use; the pool itself opens on the first query, or with :func:`connect`."""
    if alias == "default" and _default is not None:
        return _default
    return databases[alias]


def db_for_read(model: Any, using: str | None = None) -> Database:
    """The database a read of *model* goes to: *using* when given, else as routed."""
    # Every get's path: one database and no router costs two global reads.
    if using is None and _routing is None and _default is not None:
        return _default
    if using is not None:
        return databases[using]
    default = _default if _default is not None else get_database()
    routing = _routing
    return default if routing is None else routing.read(model, default)


def db_for_write(model: Any, using: str | None = None, **hints: Any) -> Database:
    """The database a write of *model* goes to (and, with routing, the task's reads after).

    With an ``instance=`` hint and no *using*, the routers decide first, then the database
    the instance was loaded from or saved to (a replica's instance is written to the primary).
    """
    default = _default if _default is not None else get_database()
    routing = _routing
    if routing is None:
        if using is None:
            instance = hints.get("instance")
            alias = None if instance is None else instance._db
            return default if alias is None else databases[alias]
        return databases[using]
    mark_written()
    return routing.write(model, default, **hints) if using is None else databases[using]


def db_for_related(model: Any, instance: Any) -> str | None:
    """The alias the reads of *model* rows related to *instance* go to: the routers'
    ``db_for_read(model, instance=instance)``, else *instance*'s database; None: routed."""
    routing = _routing
    if routing is None:
        alias: str | None = instance._db
        return alias
    return routing.related(model, instance)


def is_remembered(database: Database) -> bool:
    """True when the instances read from or written to *database* keep its alias (another
    database than the only one, or routing in force)."""
    return database is not _default or _routing is not None


def replica_monitor() -> ReplicaMonitor | None:
    """The health checks of the replicas, when any are configured."""
    get_database()
    return None if _routing is None else _routing.monitor


class _Connect:
    """``await connect()`` opens the pools; ``async with connect():`` also closes them."""

    def __init__(self, url: str | None, pool: dict[str, Any] | None) -> None:
        self._url = url
        self._pool = pool

    async def _open(self) -> Database:
        if self._url is not None or self._pool is not None:
            from aksara.conf import configure

            keys: dict[str, Any] = {}
            if self._url is not None:
                keys["DATABASE_URL"] = self._url
            if self._pool is not None:
                keys["DATABASE_POOL"] = self._pool
            configure(**keys)
            await disconnect()
        default = get_database()
        monitor = None if _routing is None else _routing.monitor
        watched = () if monitor is None else tuple(monitor.status)
        for alias in databases:
            if alias not in watched:
                await databases[alias].open()
        if monitor is not None:
            # A replica that is down now is skipped, not an error: it is checked again.
            await monitor.check()
            monitor.start()
        return default

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
    """Open every configured database's pool (``url`` / ``pool`` override the default's
    settings) and start the replicas' health checks; return the default database.

    Use as ``await aksara.connect()`` or ``async with aksara.connect(): ...``.
    """
    return _Connect(url, pool)


async def disconnect() -> None:
    """Close every database's pool and stop the replica checks; the next query builds
    them anew from the settings."""
    global _default, _routing
    routing, _routing, _default = _routing, None, None
    if routing is not None and routing.monitor is not None:
        await routing.monitor.stop()
    await databases.close_all()
