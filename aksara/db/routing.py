"""Which database a model's reads and writes go to: ``DATABASE_ROUTERS`` first, then the
``READ_REPLICAS`` (round robin over the healthy ones), else the default database.

Reads follow the writes (read-your-writes): inside ``atomic()``, and after a write by the
same task or request (for ``REPLICA_STICKY_SECONDS``, or to its end), reads go where the
model's writes go.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from time import monotonic
from typing import Any

from aksara.conf import settings
from aksara.db.database import Database, current_binding
from aksara.db.replicas import ReplicaMonitor

__all__ = ["Routing", "mark_written", "reads_follow_writes"]

_wrote_at: ContextVar[float | None] = ContextVar("aksara_last_write", default=None)


def mark_written() -> None:
    """Note that the current task or request wrote: its reads now go to the primary."""
    _wrote_at.set(monotonic())


def reads_follow_writes() -> bool:
    """True while the current task's reads must see its own writes (see the module)."""
    binding = current_binding()
    if binding is not None and binding.depth and not binding.closed:
        return True
    at = _wrote_at.get()
    if at is None:
        return False
    sticky = settings.REPLICA_STICKY_SECONDS
    return sticky is None or monotonic() - at < sticky


class Routing:
    """The routers and replicas in force, built from the settings with the databases."""

    def __init__(
        self,
        lookup: Callable[[str], Database],
        replicas: list[str],
        routers: list[Any],
        monitor: ReplicaMonitor | None,
    ) -> None:
        self._lookup = lookup
        self.replicas = replicas
        self.routers = routers
        self.monitor = monitor
        self._turn = 0

    def _ask(self, method: str, model: Any, hints: dict[str, Any]) -> str | None:
        for router in self.routers:
            choose = getattr(router, method, None)
            if choose is not None:
                alias = choose(model, **hints)
                if alias is not None:
                    return str(alias)
        return None

    def fall_back(self, replica: Database, error: Exception) -> Database | None:
        """A replica could not serve a read: skip it until it is healthy, and read from
        the default database instead."""
        if self.monitor is not None:
            self.monitor.mark_down(replica.alias, error)
        return self._lookup("default")

    def write(self, model: Any, default: Database, **hints: Any) -> Database:
        """The database *model*'s writes go to: the routers', else the ``instance`` hint's
        own database unless it is a replica, else the default."""
        alias = self._ask("db_for_write", model, hints) if self.routers else None
        if alias is None:
            instance = hints.get("instance")
            alias = None if instance is None else instance._db
            if alias is None or alias in self.replicas:
                return default
        return self._lookup(alias)

    def related(self, model: Any, instance: Any) -> str | None:
        """The alias reads of *model* rows related to *instance* go to: the routers', else
        *instance*'s database (a replica's only while no write of the task must be seen);
        None leaves them routed."""
        hints = {"instance": instance}
        alias = self._ask("db_for_read", model, hints) if self.routers else None
        if alias is not None:
            return alias
        alias = instance._db
        if alias is not None and alias in self.replicas and reads_follow_writes():
            return None
        return alias  # type: ignore[no-any-return]

    def read(self, model: Any, default: Database, **hints: Any) -> Database:
        """The database *model*'s reads go to (a healthy replica when one may serve)."""
        if reads_follow_writes():
            return self.write(model, default, **hints)
        monitor = self.monitor
        if monitor is not None and not monitor.running:
            monitor.start()
        alias = self._ask("db_for_read", model, hints) if self.routers else None
        if alias is not None:
            if monitor is not None and alias in monitor.status and alias not in monitor.healthy:
                return self.write(model, default, **hints)
            return self._lookup(alias)
        if monitor is None or not self.replicas:
            return default
        healthy = [alias for alias in monitor.healthy if alias in self.replicas]
        if not healthy:
            return self.write(model, default, **hints)
        self._turn += 1
        return self._lookup(healthy[self._turn % len(healthy)])
