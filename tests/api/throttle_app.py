"""A small API of throttled viewsets (no database), a settable clock, and the client the
throttling tests and their second process (``python -m tests.api.throttle_app``) share.

    python -m tests.api.throttle_app REDIS_URL PREFIX REQUESTS NOW

sends REQUESTS anonymous reads at time NOW through the Redis cache and prints how many
were allowed and refused, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

import aksara
from aksara import Aksara
from aksara.api import (
    AnonRateThrottle,
    Router,
    ScopedRateThrottle,
    UserRateThrottle,
    ViewSet,
)


class Clock:
    """A clock tests move by hand: ``clock.now = 600.0``, ``clock.advance(30)``."""

    def __init__(self, now: float = 7_200.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock *seconds* forward."""
        self.now += seconds


clock = Clock()


class AnonThrottle(AnonRateThrottle):
    timer = staticmethod(clock)


class UserThrottle(UserRateThrottle):
    timer = staticmethod(clock)


class ScopedThrottle(ScopedRateThrottle):
    timer = staticmethod(clock)


class Reads(ViewSet):
    """Anonymous reads, throttled."""

    throttle_classes = [AnonThrottle]

    def list(self, request: Request) -> dict[str, Any]:
        return {"ok": True}

    def retrieve(self, request: Request, pk: str) -> dict[str, Any]:
        return {"pk": pk}


class Accounts(ViewSet):
    """Per user (or per address for anonymous requests)."""

    throttle_classes = [UserThrottle]

    def list(self, request: Request) -> dict[str, Any]:
        return {"ok": True}


class Uploads(ViewSet):
    """A scope of its own."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "uploads"

    def list(self, request: Request) -> dict[str, Any]:
        return {"ok": True}


class Searches(Uploads):
    """Another scope, so another count."""

    throttle_scope = "searches"


class Unscoped(ViewSet):
    """A scoped throttle without a scope: not throttled."""

    throttle_classes = [ScopedThrottle]

    def list(self, request: Request) -> dict[str, Any]:
        return {"ok": True}


class Free(ViewSet):
    """No throttle of its own: the THROTTLES setting applies."""

    def list(self, request: Request) -> dict[str, Any]:
        return {"ok": True}


class Both(ViewSet):
    """Two throttles: each counts, the longest wait is reported."""

    throttle_classes = [AnonThrottle, UserThrottle]

    def list(self, request: Request) -> dict[str, Any]:
        return {"ok": True}


class User:
    """Stands for an authenticated user (``is_authenticated``, ``pk``)."""

    is_authenticated = True

    def __init__(self, pk: int) -> None:
        self.pk = pk


class FakeAuthentication:
    """Sets ``scope["user"]`` from an ``X-User`` header, as authentication will."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"x-user":
                scope["user"] = User(int(value))
        await self.app(scope, receive, send)


def build_app() -> ASGIApp:
    """The API, wrapped so that ``X-User: 7`` authenticates user 7."""
    router = Router(prefix="/api")
    for name, viewset in [
        ("reads", Reads),
        ("accounts", Accounts),
        ("uploads", Uploads),
        ("searches", Searches),
        ("unscoped", Unscoped),
        ("free", Free),
        ("both", Both),
    ]:
        router.register(name, viewset, basename=name)
    app = Aksara()
    app.include_router(router)
    return FakeAuthentication(app)


def client(app: ASGIApp, address: str = "10.0.0.1") -> httpx.AsyncClient:
    """A client of *app* whose requests come from *address*."""
    transport = httpx.ASGITransport(app=app, client=(address, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def main(redis_url: str, prefix: str, requests: int, now: float) -> dict[str, int]:
    aksara.configure(
        CACHE={
            "default": {
                "backend": "redis",
                "url": redis_url,
                "key_prefix": prefix,
                # Generous: a timeout would let a request through (fail open) uncounted.
                "timeout_ms": 5000,
            }
        },
        THROTTLE_RATES={"anon": "30/min"},
    )
    clock.now = now
    statuses: dict[str, int] = {"allowed": 0, "refused": 0}
    async with client(build_app()) as http:
        for _ in range(requests):
            response = await http.get("/api/reads/")
            statuses["allowed" if response.status_code == 200 else "refused"] += 1
    return statuses


if __name__ == "__main__":
    url, key_prefix, count, at = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(url, key_prefix, int(count), float(at)))))
