"""Helpers of the reliability suite: a small Aksara app whose routes hold connections, run
slow statements or write, served in-process; figures printed for RELIABILITY.md."""

from __future__ import annotations

import asyncio
import statistics

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aksara import Aksara, atomic, get_database
from tests.db.helpers import slow_sql


async def _hold(request: Request) -> JSONResponse:
    """A transaction that holds its connection for ``?ms=`` milliseconds."""
    database = get_database()
    async with atomic():
        value = await database.fetchval("SELECT 1")
        await asyncio.sleep(int(request.query_params.get("ms", "10")) / 1000)
    return JSONResponse({"value": value})


async def _slow(request: Request) -> JSONResponse:
    """A statement that runs past any short command timeout."""
    database = get_database()
    await database.fetchval(slow_sql(database, seconds=5))
    return JSONResponse({"done": True})


async def _ping(request: Request) -> JSONResponse:
    return JSONResponse({"value": await get_database().fetchval("SELECT 1")})


def fault_app() -> Aksara:
    """An app whose lifespan is not run: the test opens the database itself."""
    return Aksara(routes=[Route("/hold", _hold), Route("/slow", _slow), Route("/ping", _ping)])


def client(app: Aksara, timeout: float = 30.0) -> httpx.AsyncClient:
    """An httpx client calling *app* in-process."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=timeout
    )


def percentile(values: list[float], share: float) -> float:
    """The *share* percentile of *values* (0.99: p99)."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def figure(name: str, **values: object) -> None:
    """Print a measured figure (``pytest -s`` shows them; RELIABILITY.md records them)."""
    shown = ", ".join(f"{key}={value}" for key, value in values.items())
    print(f"\n[figure] {name}: {shown}")
