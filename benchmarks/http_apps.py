"""The apps ``benchmarks.bench_http`` serves: one detail endpoint, ``GET /api/posts/{id}/``,
answering the same JSON (a post's columns and its author's name) three ways.

Each is an app factory for ``uvicorn --factory``; the database URL comes from the
``AKSARA_BENCH_HTTP_URL`` environment variable, set by the harness.

- ``floor``: hand-written Starlette, an asyncpg pool, one SELECT with a JOIN, orjson;
- ``handler``: the ``Aksara`` app with a hand-written handler on today's ORM;
- ``viewset``: the ``Aksara`` app with a ``ModelViewSet`` registered on a ``Router``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["POOL_SIZE", "URL_VARIABLE", "floor", "handler", "viewset"]

URL_VARIABLE = "AKSARA_BENCH_HTTP_URL"
#: Connections per server: the floor's asyncpg pool and Aksara's DATABASE_POOL alike.
POOL_SIZE = 10

_FLOOR_SQL = (
    "SELECT p.id, p.title, p.slug, p.content, p.metadata, p.author_id, p.is_published,"
    " p.view_count, p.created_at, u.name"
    " FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id = $1"
)
_NOT_FOUND = b'{"detail":"Not found."}'


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


async def _jsonb_as_objects(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: orjson.dumps(value).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


def floor() -> Starlette:
    """The floor: what a hand-written handler on the raw driver costs."""
    pools: dict[str, asyncpg.Pool] = {}

    async def post_detail(request: Request) -> Response:
        row = await pools["main"].fetchrow(_FLOOR_SQL, request.path_params["id"])
        if row is None:
            return _json(_NOT_FOUND, 404)
        post = {
            "id": row[0],
            "title": row[1],
            "slug": row[2],
            "content": row[3],
            "metadata": row[4],
            "author": row[5],
            "is_published": row[6],
            "view_count": row[7],
            "created_at": row[8],
            "author_name": row[9],
        }
        return _json(orjson.dumps(post, option=orjson.OPT_UTC_Z))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pools["main"] = await asyncpg.create_pool(
            os.environ[URL_VARIABLE], min_size=1, max_size=POOL_SIZE, init=_jsonb_as_objects
        )
        try:
            yield
        finally:
            await pools.pop("main").close()

    return Starlette(routes=[Route("/api/posts/{id:int}/", post_detail)], lifespan=lifespan)


def _configure() -> None:
    import aksara

    aksara.configure(
        DATABASE_URL=os.environ[URL_VARIABLE],
        DATABASE_POOL={"min_size": 1, "max_size": POOL_SIZE},
    )


def handler() -> Any:
    """The ``Aksara`` app with a hand-written handler: today's ORM without the REST layer."""
    from aksara.app import Aksara
    from examples.blog.models import Post

    _configure()
    query = Post.objects.select_related("author")

    async def post_detail(request: Request) -> Response:
        try:
            post = await query.get(pk=request.path_params["id"])
        except Post.DoesNotExist:
            return _json(_NOT_FOUND, 404)
        body = {
            "id": post.id,
            "title": post.title,
            "slug": post.slug,
            "content": post.content,
            "metadata": post.metadata,
            "author": post.author_id,
            "is_published": post.is_published,
            "view_count": post.view_count,
            "created_at": post.created_at,
            "author_name": post.author.name,
        }
        return _json(orjson.dumps(body, option=orjson.OPT_UTC_Z))

    return Aksara(routes=[Route("/api/posts/{id:int}/", post_detail)])


def viewset() -> Any:
    """The ``Aksara`` app serving the endpoint through a ``ModelViewSet`` and a ``Router``."""
    from aksara.api import ModelSerializer, ModelViewSet, Router, serializers
    from aksara.app import Aksara
    from examples.blog.models import Post

    _configure()

    class PostSerializer(ModelSerializer):
        author_name = serializers.String(source="author.name")

        class Meta:
            model = Post
            fields = [
                *("id", "title", "slug", "content", "metadata", "author"),
                *("is_published", "view_count", "created_at", "author_name"),
            ]

    class PostViewSet(ModelViewSet):
        queryset = Post.objects.all()
        serializer_class = PostSerializer

    router = Router(prefix="/api")
    router.register("posts", PostViewSet)
    app = Aksara()
    app.include_router(router)
    return app
