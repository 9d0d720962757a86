"""An app a test kills with SIGKILL mid-request: single committed writes, and a batch that
writes several rows in one transaction, slowly enough to be caught half way."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aksara import Aksara, atomic
from examples.blog.models import User

#: Rows one batch writes in its transaction, and the pause after each.
BATCH_ROWS = 10
BATCH_PAUSE = 0.05


async def commit(request: Request) -> JSONResponse:
    """Create one user; a 201 means the row is committed."""
    name = request.path_params["name"]
    user = await User.objects.create(name=name, email=f"{name}@example.com")
    return JSONResponse({"id": user.id}, 201)


async def batch(request: Request) -> JSONResponse:
    """Create BATCH_ROWS users in one transaction, pausing between them."""
    name = request.path_params["name"]
    async with atomic():
        for index in range(BATCH_ROWS):
            await User.objects.create(name=name, email=f"{name}-{index}@example.com")
            await asyncio.sleep(BATCH_PAUSE)
    return JSONResponse({"rows": BATCH_ROWS}, 201)


app = Aksara(
    routes=[
        Route("/commit/{name}", commit, methods=["POST"]),
        Route("/batch/{name}", batch, methods=["POST"]),
    ]
)
