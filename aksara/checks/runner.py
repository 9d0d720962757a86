"""``run_checks``: the whole production checklist of an app, its lifespan running (the
database and caches open, as when it serves)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from aksara.api.tokens import signs
from aksara.checks.configuration import (
    check_cache,
    check_compression,
    check_debug,
    check_debug_tools,
    check_pool,
    check_secret_key,
)
from aksara.checks.endpoints import check_indexes, check_pagination, viewset_routes
from aksara.checks.report import Finding
from aksara.checks.requests import check_requests
from aksara.db.connections import get_database
from aksara.exceptions import ConfigurationError

__all__ = ["run_checks"]


@asynccontextmanager
async def _no_lifespan(app: Any) -> AsyncIterator[None]:
    yield


def _lifespan(app: Any) -> AbstractAsyncContextManager[Any]:
    router = getattr(app, "router", None)
    context = getattr(router, "lifespan_context", None)
    return context(app) if context is not None else _no_lifespan(app)


async def run_checks(app: Any, *, workers: int | None = None) -> list[Finding]:
    """Every check of the checklist for *app* served by *workers* processes (default: one
    per CPU, as ``aksara serve``), in the checklist's order."""
    routes = getattr(app, "routes", None)
    if routes is None:
        raise ConfigurationError(
            f"aksara check reads an app's routes: {type(app).__name__} has none. Pass an "
            "Aksara (or Starlette) app, e.g. myapp.main:app."
        )
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ConfigurationError(
            f"--workers takes a number of processes, 1 or more, got {workers}."
        )
    found = viewset_routes(routes)
    findings = [check_debug()]
    secret = check_secret_key(signing=any(signs(route.viewset) for route in found))
    if secret is not None:
        findings.append(secret)
    async with _lifespan(app):
        findings.append(await check_pool(get_database(), workers))
        findings.append(check_cache(workers))
        findings.append(check_compression())
        findings.append(check_debug_tools())
        findings.extend(check_pagination(found))
        findings.extend(await check_requests(app, found))
    findings.extend(check_indexes(found))
    return findings
