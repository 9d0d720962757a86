"""Liveness and readiness probes (``HEALTH``) for load balancers and orchestrators.

``/healthz`` answers 200 as long as the process serves requests: it touches nothing else.
``/readyz`` checks, concurrently and each within ``HEALTH["timeout"]`` seconds, that every
database of ``DATABASES`` answers ``SELECT 1`` on a pooled connection and that every Redis
cache answers ``PING``; 200 when all pass, else 503. A read replica that fails is reported
(``"status": "degraded"``) but answers 200: its reads go to the primary, and taking every
instance out of the load balancer for it would turn a lost replica into an outage. Both answer JSON naming each check, come
before every other middleware (no authentication, throttling or metrics) and never run
through the ORM's query events. Error details stay in the log, not in the response: the
probes are unauthenticated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from time import perf_counter
from typing import Any

from aksara.api.responses import Response
from aksara.cache.registry import caches
from aksara.conf import settings
from aksara.db.connections import databases
from aksara.db.database import Database

__all__ = ["HealthMiddleware", "health_logger", "readiness"]

ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]

#: Where a failing readiness check logs its error.
health_logger = logging.getLogger("aksara.health")

_NO_STORE = {"Cache-Control": "no-store"}


async def _ping_database(database: Database) -> None:
    async with database.connection() as binding:
        await binding.connection.fetch("SELECT 1", ())


async def _check(name: str, probe: Awaitable[Any], seconds: float) -> dict[str, Any]:
    started = perf_counter()
    try:
        async with asyncio.timeout(seconds):
            await probe
    except TimeoutError:
        health_logger.warning("Readiness check %s timed out after %ss.", name, seconds)
        return {"status": "fail", "error": f"timed out after {seconds:g}s"}
    except Exception as error:
        health_logger.warning("Readiness check %s failed: %r", name, error)
        return {"status": "fail", "error": type(error).__name__}
    return {"status": "ok", "ms": round((perf_counter() - started) * 1000, 2)}


async def readiness(seconds: float) -> tuple[str, dict[str, dict[str, Any]]]:
    """Run every readiness check (``database:<alias>``, ``cache:<alias>`` for Redis caches)
    concurrently, each within *seconds*; return the status (``ok``; ``degraded`` when only
    read replicas failed, whose reads go to the primary; else ``fail``) and each result."""
    probes: dict[str, Awaitable[Any]] = {
        f"database:{alias}": _ping_database(databases[alias]) for alias in databases
    }
    for cache in caches.all():
        if not cache.is_local:
            probes[f"cache:{cache.alias}"] = cache.redis.ping()
    names = list(probes)
    results = await asyncio.gather(*(_check(name, probes[name], seconds) for name in names))
    checks = dict(zip(names, results, strict=True))
    failed = [name for name, result in checks.items() if result["status"] != "ok"]
    if not failed:
        return "ok", checks
    replicas = {f"database:{alias}" for alias in settings.READ_REPLICAS}
    return ("degraded" if replicas.issuperset(failed) else "fail"), checks


class HealthMiddleware:
    """Answer the liveness and readiness paths of *health* (the validated ``HEALTH`` dict);
    pass every other request on untouched."""

    def __init__(self, app: ASGIApp, *, health: Mapping[str, Any]) -> None:
        self.app = app
        self.liveness: str | None = health["liveness"]
        self.readiness: str | None = health["readiness"]
        self.timeout: float = health["timeout"]

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path == self.liveness:
                await self._answer(scope, receive, send, ready=None)
                return
            if path == self.readiness:
                await self._answer(scope, receive, send, ready=True)
                return
        await self.app(scope, receive, send)

    async def _answer(
        self, scope: MutableMapping[str, Any], receive: Any, send: Any, *, ready: bool | None
    ) -> None:
        method = scope["method"]
        response: Response
        if method not in ("GET", "HEAD"):
            detail = f"Method {method} not allowed. Allowed: GET, HEAD."
            response = Response({"detail": detail}, 405, headers={"Allow": "GET, HEAD"})
        elif ready is None:
            response = Response({"status": "ok"}, 200, headers=_NO_STORE)
        else:
            status, checks = await readiness(self.timeout)
            body = {"status": status, "checks": checks}
            response = Response(body, 503 if status == "fail" else 200, headers=_NO_STORE)
        await response(scope, receive, send)
