"""The Aksara ASGI application: Starlette, with the database opened and closed by its
lifespan, per-request N+1 detection in development, API routers and JSON errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from aksara.api.handlers import EXCEPTION_HANDLERS
from aksara.cache.registry import caches
from aksara.conf import settings
from aksara.db.connections import connect, disconnect
from aksara.debug.nplusone import NPlusOneMiddleware
from aksara.middleware import CompressionMiddleware, ServerTimingMiddleware
from aksara.monitoring import HealthMiddleware, MonitoringMiddleware, collecting_metrics

if TYPE_CHECKING:
    from aksara.api.routing import Router

__all__ = ["Aksara"]


class Aksara(Starlette):
    """An ASGI app whose lifespan opens the database pool and the caches at startup and
    closes them at shutdown. Every request is checked for N+1 queries when ``DETECT_N_PLUS_ONE`` is on
    (by default: when ``DEBUG`` is). Errors, the 404 of an unknown path and the 405 of an
    unrouted method included, are answered as JSON ``{"detail": ...}``. ``COMPRESSION``,
    ``SERVER_TIMING`` and ``ACCESS_LOG`` add their middleware when the app is built, and so
    do ``METRICS`` (Prometheus metrics at ``/metrics``), ``SLOW_REQUEST_MS`` and ``HEALTH``
    (``/healthz`` and ``/readyz``)."""

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        debug: bool | None = None,
        exception_handlers: Mapping[Any, Any] | None = None,
        **options: Any,
    ) -> None:
        stack = [*_optional_middleware(), Middleware(NPlusOneMiddleware), *(middleware or ())]
        super().__init__(
            debug=settings.DEBUG if debug is None else debug,
            routes=routes,
            middleware=stack,
            lifespan=self._lifespan,
            exception_handlers={**EXCEPTION_HANDLERS, **(exception_handlers or {})},
            **options,
        )

    def include_router(self, router: Router) -> None:
        """Serve the routes of *router*'s viewsets."""
        self.router.routes.extend(router.routes)

    @staticmethod
    @asynccontextmanager
    async def _lifespan(app: Starlette) -> AsyncIterator[None]:
        await connect()
        try:
            await caches.open_all()
            try:
                if settings.METRICS is None:
                    yield
                else:
                    async with collecting_metrics():
                        yield
            finally:
                await caches.close_all()
        finally:
            await disconnect()


def _optional_middleware() -> list[Middleware]:
    """Health probes, monitoring, compression and timing, installed only when their settings are on: off,
    a request pays nothing for them."""
    stack: list[Middleware] = []
    health = settings.HEALTH
    if health is not None:
        # Outermost: probes skip authentication, throttles and metrics.
        stack.append(Middleware(HealthMiddleware, health=health))
    metrics, slow_request_ms = settings.METRICS, settings.SLOW_REQUEST_MS
    if metrics is not None or slow_request_ms is not None:
        stack.append(
            Middleware(MonitoringMiddleware, metrics=metrics, slow_request_ms=slow_request_ms)
        )
    compression = settings.COMPRESSION
    if compression is not None:
        stack.append(Middleware(CompressionMiddleware, **compression))
    timing = settings.SERVER_TIMING
    if timing is None:
        timing = settings.DEBUG
    if timing or settings.ACCESS_LOG:
        stack.append(
            Middleware(
                ServerTimingMiddleware,
                headers=timing,
                query_count=settings.DEBUG,
                log=True,
            )
        )
    return stack
