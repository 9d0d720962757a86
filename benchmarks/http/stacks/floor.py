"""The floor: hand-written Starlette + an asyncpg pool + orjson, the fastest reasonable code.

Every endpoint is one or two hand-written statements on the raw driver; the bodies are
built as dicts and encoded with orjson. The other stacks are measured against this one.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import jinja2
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

__all__ = ["app"]

_POOL: dict[str, asyncpg.Pool] = {}
_PAGE = 20
_FEED = 100
_SLUG = re.compile(r"^[a-z0-9-]+$")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=True,
)
_ADDED_FORTUNE = "Additional fortune added at request time."

_COUNT = "SELECT COUNT(*) FROM posts WHERE is_published"
_LIST = (
    "SELECT p.id, p.title, p.slug, u.name,"
    " (SELECT COUNT(*) FROM comments c WHERE c.post_id = p.id), p.created_at"
    " FROM posts p JOIN users u ON u.id = p.author_id WHERE p.is_published"
    " ORDER BY p.created_at DESC, p.id DESC LIMIT $1 OFFSET $2"
)
_DETAIL = (
    "SELECT p.id, p.title, p.slug, p.content, u.id, u.name, p.is_published, p.view_count,"
    " p.created_at FROM posts p JOIN users u ON u.id = p.author_id WHERE p.slug = $1 LIMIT 1"
)
_FEED_SQL = (
    "SELECT id, title, slug, author_id, is_published, view_count, created_at FROM posts"
    " ORDER BY created_at DESC, id DESC LIMIT $1"
)
_FEED_AFTER = (
    "SELECT id, title, slug, author_id, is_published, view_count, created_at FROM posts"
    " WHERE (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $1"
)
_AUTHOR = "SELECT 1 FROM users WHERE id = $1"
_INSERT = (
    "INSERT INTO posts (title, slug, content, metadata, author_id, is_published, view_count,"
    " created_at) VALUES ($1, $2, $3, '{}', $4, $5, 0, $6) RETURNING id"
)
_WORLD = "SELECT id, randomnumber FROM world WHERE id = $1"
_UPDATE = "UPDATE world SET randomnumber = $2 WHERE id = $1"
_FORTUNES = "SELECT id, message FROM fortune"


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status, media_type="application/json")


def _not_found() -> Response:
    return _json({"detail": "Not found."}, 404)


async def post_list(request: Request) -> Response:
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        return _json({"detail": "Invalid page."}, 404)
    if page < 1:
        return _json({"detail": "Invalid page."}, 404)
    async with _POOL["main"].acquire() as connection:
        total = await connection.fetchval(_COUNT)
        rows = await connection.fetch(_LIST, _PAGE, (page - 1) * _PAGE)
    if page > 1 and not rows:
        return _json({"detail": "Invalid page."}, 404)
    base = str(request.url.replace(query=""))
    pages = max(1, -(-total // _PAGE))
    previous = None if page == 1 else base if page == 2 else f"{base}?page={page - 1}"
    results = [
        {
            "id": r[0],
            "title": r[1],
            "slug": r[2],
            "author_name": r[3],
            "comment_count": r[4],
            "created_at": r[5],
        }
        for r in rows
    ]
    next_link = f"{base}?page={page + 1}" if page < pages else None
    return _json({"count": total, "next": next_link, "previous": previous, "results": results})


async def post_detail(request: Request) -> Response:
    r = await _POOL["main"].fetchrow(_DETAIL, request.path_params["slug"])
    if r is None:
        return _not_found()
    return _json(
        {
            "id": r[0],
            "title": r[1],
            "slug": r[2],
            "content": r[3],
            "author": {"id": r[4], "name": r[5]},
            "is_published": r[6],
            "view_count": r[7],
            "created_at": r[8],
        }
    )


async def feed(request: Request) -> Response:
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            stamp, _, key = cursor.partition("_")
            after = (dt.datetime.fromtimestamp(int(stamp) / 1e6, dt.UTC), int(key))
        except ValueError:
            return _json({"detail": "Invalid cursor."}, 404)
        rows = await _POOL["main"].fetch(_FEED_AFTER, _FEED + 1, *after)
    else:
        rows = await _POOL["main"].fetch(_FEED_SQL, _FEED + 1)
    next_link = None
    if len(rows) > _FEED:
        rows = rows[:_FEED]
        last = rows[-1]
        stamp = (last[6] - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
        next_link = str(request.url.include_query_params(cursor=f"{stamp}_{last[0]}"))
    keys = ("id", "title", "slug", "author_id", "is_published", "view_count", "created_at")
    results = [dict(zip(keys, row, strict=True)) for row in rows]
    return _json({"next": next_link, "previous": None, "results": results})


def _post_errors(body: Any) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        return {"non_field_errors": ["Expected a JSON object."]}
    errors: dict[str, list[str]] = {}
    title = body.get("title")
    if not isinstance(title, str) or not 1 <= len(title) <= 200:
        errors["title"] = ["Expected a string of 1 to 200 characters."]
    slug = body.get("slug")
    if not isinstance(slug, str) or len(slug) > 100 or not _SLUG.match(slug):
        errors["slug"] = ["Expected lowercase letters, digits and hyphens, at most 100."]
    if not isinstance(body.get("content", ""), str):
        errors["content"] = ["Expected a string."]
    author = body.get("author")
    if not isinstance(author, int) or isinstance(author, bool):
        errors["author"] = ["Expected a user id."]
    if not isinstance(body.get("is_published", False), bool):
        errors["is_published"] = ["Expected a boolean."]
    return errors


async def post_create(request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _json({"detail": "Malformed JSON."}, 400)
    errors = _post_errors(body)
    async with _POOL["main"].acquire() as connection:
        if "author" not in errors and await connection.fetchval(_AUTHOR, body["author"]) is None:
            errors["author"] = [f"No user with id {body['author']}."]
        if errors:
            return _json(errors, 400)
        created_at = dt.datetime.now(dt.UTC)
        content = body.get("content", "")
        published = body.get("is_published", False)
        values = (body["title"], body["slug"], content, body["author"], published, created_at)
        key = await connection.fetchval(_INSERT, *values)
    data = {
        "id": key,
        "title": body["title"],
        "slug": body["slug"],
        "content": content,
        "author": body["author"],
        "is_published": published,
        "view_count": 0,
        "created_at": created_at,
    }
    return _json(data, 201)


async def json_endpoint(request: Request) -> Response:
    return _json({"message": "Hello, World!"})


def _count(request: Request) -> int:
    try:
        count = int(request.query_params.get("queries", "1"))
    except ValueError:
        return 1
    return min(max(count, 1), 500)


async def single_query(request: Request) -> Response:
    row = await _POOL["main"].fetchrow(_WORLD, random.randint(1, 10_000))
    return _json({"id": row[0], "randomNumber": row[1]})


async def multiple_queries(request: Request) -> Response:
    ids = [random.randint(1, 10_000) for _ in range(_count(request))]
    async with _POOL["main"].acquire() as connection:
        statement = await connection.prepare(_WORLD)
        rows = [await statement.fetchrow(key) for key in ids]
    return _json([{"id": row[0], "randomNumber": row[1]} for row in rows])


async def fortunes(request: Request) -> Response:
    rows = await _POOL["main"].fetch(_FORTUNES)
    items = [{"id": row[0], "message": row[1]} for row in rows]
    items.append({"id": 0, "message": _ADDED_FORTUNE})
    items.sort(key=lambda item: item["message"])
    page = _TEMPLATES.get_template("fortunes.html").render(fortunes=items)
    return HTMLResponse(page, media_type="text/html; charset=utf-8")


async def updates(request: Request) -> Response:
    ids = [random.randint(1, 10_000) for _ in range(_count(request))]
    async with _POOL["main"].acquire() as connection:
        statement = await connection.prepare(_WORLD)
        worlds = [
            {"id": key, "randomNumber": (await statement.fetchval(key, column=1))} for key in ids
        ]
        for world in worlds:
            world["randomNumber"] = random.randint(1, 10_000)
        # Sorted ids: concurrent batches lock rows in one order and never deadlock.
        changes = sorted({w["id"]: w["randomNumber"] for w in worlds}.items())
        await connection.executemany(_UPDATE, changes)
    return _json(worlds)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_HTTP_POOL_SIZE", "10"))
    _POOL["main"] = await asyncpg.create_pool(
        os.environ["BENCH_HTTP_DATABASE_URL"], min_size=size, max_size=size
    )
    try:
        yield
    finally:
        await _POOL.pop("main").close()


def app() -> Starlette:
    """The floor's ASGI app."""
    routes = [
        Route("/api/posts/", post_list, methods=["GET"]),
        Route("/api/posts/", post_create, methods=["POST"]),
        Route("/api/posts/{slug}/", post_detail),
        Route("/api/feed/", feed),
        Route("/json", json_endpoint),
        Route("/db", single_query),
        Route("/queries", multiple_queries),
        Route("/fortunes", fortunes),
        Route("/updates", updates),
    ]
    return Starlette(routes=routes, lifespan=_lifespan)
