"""The peer stack FastAPI + Tortoise ORM: the benchmark's endpoints as their docs teach.

``uvicorn --factory benchmarks.http.stacks.fastapi_tortoise:app``; the database comes from
``BENCH_HTTP_DATABASE_URL``, the pool size (Tortoise's asyncpg ``maxsize``) from
``BENCH_HTTP_POOL_SIZE`` (default 10).

Tortoise models mapped onto the existing tables, registered in the app's lifespan with
``RegisterTortoise`` (the way Tortoise's FastAPI example does it), hand-written Pydantic v2
response models serialised by FastAPI itself (no ``ORJSONResponse``: FastAPI's docs deprecate
it now that a declared return type is serialised by Pydantic in Rust).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit, urlunsplit

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tortoise import fields
from tortoise.contrib.fastapi import RegisterTortoise
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.models import Model

__all__ = ["app"]

PAGE_SIZE = 20
FEED_SIZE = 100
WORLD_ROWS = 10_000
ADDITIONAL_FORTUNE = "Additional fortune added at request time."
# The fortunes page every stack renders (the common subset of Jinja2 and Django syntax).
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")

# Models -----------------------------------------------------------------------------------


class User(Model):
    """A row of ``users``."""

    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=100)
    email = fields.CharField(max_length=254, unique=True)
    is_active = fields.BooleanField(default=True)
    last_login = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Post(Model):
    """A row of ``posts``."""

    id = fields.BigIntField(primary_key=True)
    title = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=200, db_index=True)
    content = fields.TextField(default="")
    metadata: Any = fields.JSONField(default=dict)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="posts"
    )
    author_id: int
    is_published = fields.BooleanField(default=False)
    view_count = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "posts"


class Comment(Model):
    """A row of ``comments``."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="comments"
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="comments"
    )
    body = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "comments"


class World(Model):
    """A row of TechEmpower's ``world`` table."""

    id = fields.IntField(primary_key=True, generated=False)
    randomnumber = fields.IntField()

    class Meta:
        table = "world"


class Fortune(Model):
    """A row of TechEmpower's ``fortune`` table."""

    id = fields.IntField(primary_key=True, generated=False)
    message = fields.CharField(max_length=2048)

    class Meta:
        table = "fortune"


# Schemas ----------------------------------------------------------------------------------


class PostSummary(BaseModel):
    """A post in the list page."""

    id: int
    title: str
    slug: str
    author_name: str
    comment_count: int
    created_at: dt.datetime


class PostPage(BaseModel):
    """One page of published posts with the total count."""

    count: int
    next: str | None
    previous: str | None
    results: list[PostSummary]


class Author(BaseModel):
    """A post's author, nested in the detail."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class PostDetail(BaseModel):
    """A post by slug with its author."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    slug: str
    content: str
    author: Author
    is_published: bool
    view_count: int
    created_at: dt.datetime


class FeedItem(BaseModel):
    """A post in the feed."""

    id: int
    title: str
    slug: str
    author_id: int
    is_published: bool
    view_count: int
    created_at: dt.datetime


class FeedPage(BaseModel):
    """One page of the feed; ``next`` carries the cursor of the following page."""

    next: str | None
    previous: str | None
    results: list[FeedItem]


class PostCreate(BaseModel):
    """The body of a new post."""

    title: str = Field(min_length=1, max_length=200)
    slug: str = Field(max_length=100, pattern=r"^[a-z0-9-]+$")
    content: str = ""
    author: int = Field(strict=True)  # a user's id, never a bool or a string
    is_published: bool = False


class PostCreated(BaseModel):
    """A post as created."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    slug: str
    content: str
    author: int = Field(validation_alias="author_id")
    is_published: bool
    view_count: int
    created_at: dt.datetime


class WorldRow(BaseModel):
    """A ``world`` row as TechEmpower spells it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    randomNumber: int = Field(validation_alias="randomnumber")  # TechEmpower spells the key so


class Message(BaseModel):
    """The plaintext-in-JSON greeting."""

    message: str


# Helpers ----------------------------------------------------------------------------------


def _query_count(raw: str | None) -> int:
    """TechEmpower's ``queries`` parameter: clamped to 1..500, anything else means 1."""
    try:
        count = int(raw) if raw is not None else 1
    except ValueError:
        return 1
    return min(max(count, 1), 500)


def _encode_cursor(created_at: dt.datetime, post_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{post_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        moment, _, post_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return dt.datetime.fromisoformat(moment), int(post_id)
    except ValueError as error:
        raise HTTPException(status_code=404, detail="Invalid cursor") from error


async def _validation_errors(request: Request, error: Exception) -> JSONResponse:
    """Field errors as ``{"field": ["message"]}`` with status 400, like the other stacks."""
    assert isinstance(error, RequestValidationError)
    fields_: dict[str, list[str]] = {}
    for problem in error.errors():
        if problem.get("type") == "json_invalid":
            error_text = problem.get("ctx", {}).get("error", problem["msg"])
            return JSONResponse({"detail": f"JSON parse error - {error_text}"}, status_code=400)
        location = [str(part) for part in problem["loc"][1:]]
        fields_.setdefault(".".join(location) or "non_field_errors", []).append(problem["msg"])
    return JSONResponse(fields_, status_code=400)


async def valid_post(payload: Annotated[dict[str, Any], Body()]) -> PostCreate:
    """The body of a new post, or a 400 naming every field in error at once (the author's
    existence included, one query) the way DRF's serializers report them."""
    problems: list[dict[str, Any]] = []
    body = None
    try:
        body = PostCreate.model_validate(payload)
    except ValidationError as error:
        problems = [{**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()]
    author = payload.get("author")
    if (
        isinstance(author, int)
        and not isinstance(author, bool)
        and not await User.exists(id=author)
    ):
        message = f'Invalid pk "{author}" - object does not exist.'
        problems.append({"loc": ("body", "author"), "msg": message})
    if problems or body is None:
        raise RequestValidationError(problems)
    return body


def _tortoise_url(url: str, pool_size: int) -> str:
    """``postgresql://...`` as Tortoise's asyncpg URL with the pool's ``maxsize``."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, f"minsize=1&maxsize={pool_size}"]))
    return urlunsplit(parts._replace(scheme="asyncpg", query=query))


# The app ----------------------------------------------------------------------------------


def app() -> FastAPI:
    """The ASGI app; Tortoise connects in its lifespan to ``BENCH_HTTP_DATABASE_URL``."""
    pool_size = int(os.environ.get("BENCH_HTTP_POOL_SIZE", "10"))
    url = _tortoise_url(os.environ["BENCH_HTTP_DATABASE_URL"], pool_size)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        async with RegisterTortoise(application, db_url=url, modules={"models": [__name__]}):
            yield

    api = FastAPI(
        lifespan=lifespan, exception_handlers={RequestValidationError: _validation_errors}
    )

    @api.get("/api/posts/")
    async def list_posts(request: Request, page: int = 1) -> PostPage:
        published = Post.filter(is_published=True)
        count = await published.count()
        last = max(count + PAGE_SIZE - 1, PAGE_SIZE) // PAGE_SIZE
        if not 1 <= page <= last:
            raise HTTPException(status_code=404, detail="Invalid page.")
        rows = (
            await published.annotate(comment_count=Count("comments"))
            .order_by("-created_at", "-id")
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
            .group_by("id", "author__name")
            .values(
                "id", "title", "slug", "comment_count", "created_at", author_name="author__name"
            )
        )
        following = request.url.include_query_params(page=page + 1) if page < last else None
        if page == 1:
            preceding = None
        elif page == 2:
            preceding = request.url.remove_query_params("page")
        else:
            preceding = request.url.include_query_params(page=page - 1)
        return PostPage(
            count=count,
            next=str(following) if following else None,
            previous=str(preceding) if preceding else None,
            results=[PostSummary(**row) for row in rows],
        )

    @api.post("/api/posts/", status_code=201)
    async def create_post(body: Annotated[PostCreate, Depends(valid_post)]) -> PostCreated:
        post = await Post.create(
            title=body.title,
            slug=body.slug,
            content=body.content,
            author_id=body.author,
            is_published=body.is_published,
        )
        return PostCreated.model_validate(post)

    @api.get("/api/posts/{slug}/")
    async def post_detail(slug: str) -> PostDetail:
        post = await Post.filter(slug=slug).select_related("author").first()
        if post is None:
            raise HTTPException(status_code=404, detail="Not found.")
        return PostDetail.model_validate(post)

    @api.get("/api/feed/")
    async def feed(request: Request, cursor: str | None = None) -> FeedPage:
        posts = Post.all()
        if cursor is not None:
            created_at, post_id = _decode_cursor(cursor)
            posts = posts.filter(
                Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=post_id)
            )
        rows = (
            await posts.order_by("-created_at", "-id")
            .limit(FEED_SIZE + 1)
            .values("id", "title", "slug", "author_id", "is_published", "view_count", "created_at")
        )
        following = None
        if len(rows) > FEED_SIZE:
            rows = rows[:FEED_SIZE]
            last = rows[-1]
            following = str(
                request.url.include_query_params(
                    cursor=_encode_cursor(last["created_at"], last["id"])
                )
            )
        return FeedPage(next=following, previous=None, results=[FeedItem(**row) for row in rows])

    @api.get("/json")
    async def json_greeting() -> Message:
        return Message(message="Hello, World!")

    @api.get("/db")
    async def single_query() -> WorldRow:
        return WorldRow.model_validate(await World.get(id=random.randint(1, WORLD_ROWS)))

    @api.get("/queries")
    async def multiple_queries(queries: str | None = None) -> list[WorldRow]:
        return [
            WorldRow.model_validate(await World.get(id=random.randint(1, WORLD_ROWS)))
            for _ in range(_query_count(queries))
        ]

    @api.get("/fortunes", response_class=HTMLResponse)
    async def fortunes(request: Request) -> HTMLResponse:
        rows = await Fortune.all()
        rows.append(Fortune(id=0, message=ADDITIONAL_FORTUNE))
        rows.sort(key=lambda fortune: fortune.message)
        return TEMPLATES.TemplateResponse(request, "fortunes.html", {"fortunes": rows})

    @api.get("/updates")
    async def updates(queries: str | None = None) -> list[WorldRow]:
        # Distinct ids: one batched write must not carry two values for one row.
        ids = random.sample(range(1, WORLD_ROWS + 1), _query_count(queries))
        worlds = [await World.get(id=world_id) for world_id in ids]
        for world in worlds:
            world.randomnumber = random.randint(1, WORLD_ROWS)
        # Written in id order, so concurrent batches lock rows in one order.
        await World.bulk_update(sorted(worlds, key=lambda world: world.id), ["randomnumber"])
        return [WorldRow.model_validate(world) for world in worlds]

    return api
