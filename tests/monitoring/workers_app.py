"""A tiny app for the metrics-across-workers test: it tells which worker answered."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aksara import Aksara


async def worker(request: Request) -> JSONResponse:
    """The answering process's id and its metrics directory."""
    return JSONResponse(
        {"pid": os.getpid(), "directory": os.environ.get("PROMETHEUS_MULTIPROC_DIR")}
    )


async def ready(request: Request) -> JSONResponse:
    return JSONResponse({"ready": True})


app = Aksara(routes=[Route("/worker/", worker), Route("/ready/", ready)])
