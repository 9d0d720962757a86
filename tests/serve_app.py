"""The blog API with one slow endpoint, for the shutdown test of ``aksara serve``."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aksara import Aksara
from examples.blog.app import router
from examples.blog.models import Post

#: How long ``/slow/`` takes: long enough for SIGTERM to arrive while it is in flight.
SLOW_SECONDS = 1.5


async def slow(request: Request) -> JSONResponse:
    """Answer after SLOW_SECONDS, with a query on each side so the pool must stay open."""
    before = await Post.objects.count()
    await asyncio.sleep(SLOW_SECONDS)
    return JSONResponse({"before": before, "after": await Post.objects.count()})


app = Aksara(routes=[Route("/slow/", slow)])
app.include_router(router)
