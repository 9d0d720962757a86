"""The blog example as the many-workers test serves it: the example's API, a count of the
posts behind ``@cache_response``, and an ``X-Worker`` header naming the answering process."""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aksara import Aksara
from aksara.cache import cache_response
from examples.blog.app import router
from examples.blog.models import Post


class WorkerHeader:
    """Adds ``X-Worker: <pid>`` to every response, cached ones included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        async def send_marked(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-worker", str(os.getpid()).encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_marked)


@cache_response(ttl=300)
async def post_count(request: Request) -> JSONResponse:
    """The number of posts, kept in the cache until a write to the posts' table."""
    return JSONResponse({"posts": await Post.objects.count()})


app = Aksara(routes=[Route("/post-count/", post_count)], middleware=[Middleware(WorkerHeader)])
app.include_router(router)
