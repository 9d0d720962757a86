"""The Aksara ASGI application: Starlette, with the database opened and closed by its
lifespan, per-request N+1 detection in development, API routers and JSON errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from aksara.api.handlers import EXCEPTION_HANDLERS
from aksara.api.openapi import SchemaGenerator, openapi_routes
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
    (``/healthz`` and ``/readyz``).

    The OpenAPI 3.1 document of the app's viewsets is served at *openapi_url* and a Swagger
    UI page at *docs_url* (``None`` turns either off); *title*, *version*, *description*
    and *servers* fill its ``info`` and ``servers``."""

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        debug: bool | None = None,
        exception_handlers: Mapping[Any, Any] | None = None,
        title: str = "Aksara API",
        version: str = "0.1.0",
        description: str | None = None,
        servers: Sequence[Mapping[str, Any]] = (),
        openapi_url: str | None = "/openapi.json",
        docs_url: str | None = "/docs",
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
        self.schema_generator = SchemaGenerator(
            title=title, version=version, description=description, servers=servers
        )
        self.openapi_url = openapi_url
        self.docs_url = docs_url
        self._openapi_schema: dict[str, Any] | None = None
        self._docs_routes = openapi_routes(
            self.openapi, title=title, openapi_url=openapi_url, docs_url=docs_url
        )
        self.router.routes.extend(self._docs_routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            limit = settings.MAX_HEADER_BYTES
            if limit is not None and _header_bytes(scope) > limit:
                # Refused before any middleware, route or log line reads the headers.
                response = JSONResponse(
                    {"detail": f"Request headers are larger than {limit} bytes."},
                    status_code=431,
                )
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document of the app's viewset routes, generated on the first call and
        kept until a router is included."""
        if self._openapi_schema is None:
            self._openapi_schema = self.schema_generator.get_schema(self.router.routes)
        return self._openapi_schema

    def include_router(self, router: Router) -> None:
        """Serve the routes of *router*'s viewsets (matched before the docs' routes, so an
        API request does not try those first)."""
        routes = self.router.routes
        docs = [index for index, route in enumerate(routes) if route in self._docs_routes]
        position = docs[0] if docs else len(routes)
        routes[position:position] = router.routes
        self._openapi_schema = None

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


def _header_bytes(scope: Scope) -> int:
    """The bytes of the request's header names and values."""
    return sum(len(name) + len(value) for name, value in scope["headers"])


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
