"""The Aksara ASGI application: Starlette, with the database opened and closed by its
lifespan and per-request N+1 detection in development."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from aksara.conf import settings
from aksara.db.connections import connect, disconnect
from aksara.debug.nplusone import NPlusOneMiddleware

__all__ = ["Aksara"]


class Aksara(Starlette):
    """An ASGI app whose lifespan opens the database pool at startup and closes it at
    shutdown. Every request is checked for N+1 queries when ``DETECT_N_PLUS_ONE`` is on
    (by default: when ``DEBUG`` is)."""

    def __init__(
        self,
        *,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        debug: bool | None = None,
        **options: Any,
    ) -> None:
        stack = [Middleware(NPlusOneMiddleware), *(middleware or ())]
        super().__init__(
            debug=settings.DEBUG if debug is None else debug,
            routes=routes,
            middleware=stack,
            lifespan=self._lifespan,
            **options,
        )

    @staticmethod
    @asynccontextmanager
    async def _lifespan(app: Starlette) -> AsyncIterator[None]:
        await connect()
        try:
            yield
        finally:
            await disconnect()
