"""Replica health: a background task checks each read replica (reachable, lag within its
``max_lag``) every ``REPLICA_CHECK_INTERVAL`` seconds, so reads skip a sick one at no cost
per query and come back to it once it is healthy again."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable
from dataclasses import dataclass
from time import monotonic
from typing import Any

from aksara.db.database import Database, _checking

__all__ = ["ReplicaMonitor", "ReplicaStatus"]

logger = logging.getLogger("aksara.db.replicas")

# Seconds a standby is behind its primary: 0 when it has replayed all it received (an idle
# primary sends nothing, which is no lag), else the age of the last transaction replayed.
_POSTGRES_LAG = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


@dataclass(slots=True)
class ReplicaStatus:
    """The last check of one replica: healthy or not, its lag in seconds, and why not."""

    alias: str
    healthy: bool = False
    lag: float | None = None
    error: str | None = None
    checked_at: float | None = None


class ReplicaMonitor:
    """Checks the replicas in the background; :attr:`healthy` lists those reads may use.

    Until a replica's first check passes it is not used: reads go to the primary.
    """

    def __init__(
        self,
        lookup: Callable[[str], Database],
        max_lags: dict[str, float | None],
        interval: float,
    ) -> None:
        self._lookup = lookup
        self.max_lags = max_lags
        self.interval = interval
        self.status = {alias: ReplicaStatus(alias) for alias in max_lags}
        #: The aliases of the replicas that passed their last check, in settings order.
        self.healthy: tuple[str, ...] = ()
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> tuple[str, ...]:
        """Check every replica now (concurrently); return the healthy aliases."""
        await asyncio.gather(*(self._check(alias) for alias in self.status))
        self.healthy = tuple(alias for alias, state in self.status.items() if state.healthy)
        return self.healthy

    async def _check(self, alias: str) -> None:
        state = self.status[alias]
        was = state.healthy
        database = self._lookup(alias)
        _checking.set(True)  # this task's own context: gather() runs each check in a task
        try:
            async with asyncio.timeout(max(self.interval, 2.0)):
                lag = await self._lag(database)
        except Exception as error:  # down, unreachable, timed out: all mean "not now"
            state.healthy, state.lag = False, None
            state.error = f"{type(error).__name__}: {error}"
        else:
            limit = self.max_lags[alias]
            state.lag = lag
            state.healthy = limit is None or lag <= limit
            state.error = None if state.healthy else f"lag {lag:.3f}s exceeds max_lag {limit}s"
        state.checked_at = monotonic()
        if was != state.healthy:
            if state.healthy:
                logger.info("Read replica %r is healthy again; reads use it.", alias)
            else:
                logger.warning("Read replica %r skipped: %s", alias, state.error)

    def mark_down(self, alias: str, error: BaseException) -> None:
        """Skip *alias* until its next check passes: a read found it unreachable."""
        state = self.status.get(alias)
        if state is None or not state.healthy:
            return
        state.healthy = False
        state.error = f"{type(error).__name__}: {error}"
        self.healthy = tuple(name for name in self.healthy if name != alias)
        logger.warning("Read replica %r skipped until it answers a check: %s", alias, state.error)

    @staticmethod
    async def _lag(database: Database) -> float:
        if database.name == "postgresql":
            value: Any = await database.fetchval(_POSTGRES_LAG, read_only=True, keeps_session=True)
            return float(value or 0)
        await database.fetchval("SELECT 1", read_only=True, keeps_session=True)
        return 0.0

    @property
    def running(self) -> bool:
        """True while the background task is checking."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the background checks (a no-op when they run already)."""
        if self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        # A context of its own: the checks must not show in a task's captured queries nor
        # run on a connection a transaction pinned.
        self._task = loop.create_task(self._run(), context=contextvars.Context())

    async def _run(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # pragma: no cover - _check catches what a check raises
                logger.exception("Checking the read replicas failed.")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        """Stop the background checks."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task
