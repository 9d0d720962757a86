"""The peer stack FastAPI + SQLAlchemy 2 async: the benchmark's endpoints as their docs teach.

``uvicorn --factory benchmarks.http.stacks.fastapi_sqlalchemy:app``; the database comes from
``BENCH_HTTP_DATABASE_URL``, the pool size from ``BENCH_HTTP_POOL_SIZE`` (default 10).

Declarative models mapped onto the existing tables, an ``AsyncSession`` per request through a
dependency, Pydantic v2 response models. No ``ORJSONResponse``: since FastAPI 0.130 a declared
return type or ``response_model`` is serialised to JSON bytes by Pydantic (in Rust), and
FastAPI's docs deprecate ``ORJSONResponse`` in its favour ("Custom Response - JSON
Performance").
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

from fastapi import Body, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import BigInteger, DateTime, ForeignKey, String, func, select, tuple_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    joinedload,
    load_only,
    mapped_column,
    relationship,
)

__all__ = ["app"]

PAGE_SIZE = 20
FEED_SIZE = 100
WORLD_ROWS = 10_000
ADDITIONAL_FORTUNE = "Additional fortune added at request time."
# The fortunes page every stack renders (the common subset of Jinja2 and Django syntax).
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Models -----------------------------------------------------------------------------------


class Base(DeclarativeBase):
    """The declarative base of the benchmark's tables (timestamps with time zone)."""

    type_annotation_map = {dt.datetime: DateTime(timezone=True)}


class User(Base):
    """A row of ``users``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class Post(Base):
    """A row of ``posts``; its ``metadata`` column is ``metadata_`` (the base owns the name)."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), index=True)
    content: Mapped[str] = mapped_column(default="")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    is_published: Mapped[bool] = mapped_column(default=False)
    view_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=_now, index=True)

    author: Mapped[User] = relationship()


class Comment(Base):
    """A row of ``comments``."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str]
    created_at: Mapped[dt.datetime] = mapped_column(default=_now)


class World(Base):
    """A row of TechEmpower's ``world`` table."""

    __tablename__ = "world"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    randomnumber: Mapped[int]


class Fortune(Base):
    """A row of TechEmpower's ``fortune`` table."""

    __tablename__ = "fortune"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    message: Mapped[str] = mapped_column(String(2048))


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

    model_config = ConfigDict(from_attributes=True)

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
    fields: dict[str, list[str]] = {}
    for problem in error.errors():
        if problem.get("type") == "json_invalid":
            error_text = problem.get("ctx", {}).get("error", problem["msg"])
            return JSONResponse({"detail": f"JSON parse error - {error_text}"}, status_code=400)
        location = [str(part) for part in problem["loc"][1:]]
        fields.setdefault(".".join(location) or "non_field_errors", []).append(problem["msg"])
    return JSONResponse(fields, status_code=400)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, closed (its connection back in the pool) after the response."""
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def valid_post(payload: Annotated[dict[str, Any], Body()], session: Session) -> PostCreate:
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
        and await session.get(User, author) is None
    ):
        message = f'Invalid pk "{author}" - object does not exist.'
        problems.append({"loc": ("body", "author"), "msg": message})
    if problems or body is None:
        raise RequestValidationError(problems)
    return body


# The app ----------------------------------------------------------------------------------


def app() -> FastAPI:
    """The ASGI app, its engine made from ``BENCH_HTTP_DATABASE_URL``."""
    url = os.environ["BENCH_HTTP_DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://")
    pool_size = int(os.environ.get("BENCH_HTTP_POOL_SIZE", "10"))
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    api = FastAPI(
        lifespan=lifespan, exception_handlers={RequestValidationError: _validation_errors}
    )
    api.state.sessions = async_sessionmaker(engine, expire_on_commit=False)

    @api.get("/api/posts/")
    async def list_posts(request: Request, session: Session, page: int = 1) -> PostPage:
        published = Post.is_published
        count = await session.scalar(select(func.count()).select_from(Post).where(published))
        last = max((count or 0) + PAGE_SIZE - 1, PAGE_SIZE) // PAGE_SIZE
        if not 1 <= page <= last:
            raise HTTPException(status_code=404, detail="Invalid page.")
        comment_count = (
            select(func.count(Comment.id)).where(Comment.post_id == Post.id).scalar_subquery()
        )
        statement = (
            select(
                Post.id,
                Post.title,
                Post.slug,
                User.name.label("author_name"),
                comment_count.label("comment_count"),
                Post.created_at,
            )
            .join(Post.author)
            .where(published)
            .order_by(Post.created_at.desc(), Post.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
        rows = (await session.execute(statement)).all()
        following = request.url.include_query_params(page=page + 1) if page < last else None
        if page == 1:
            preceding = None
        elif page == 2:
            preceding = request.url.remove_query_params("page")
        else:
            preceding = request.url.include_query_params(page=page - 1)
        return PostPage(
            count=count or 0,
            next=str(following) if following else None,
            previous=str(preceding) if preceding else None,
            results=[PostSummary(**row._mapping) for row in rows],
        )

    @api.post("/api/posts/", status_code=201)
    async def create_post(
        body: Annotated[PostCreate, Depends(valid_post)], session: Session
    ) -> PostCreated:
        post = Post(
            title=body.title,
            slug=body.slug,
            content=body.content,
            author_id=body.author,
            is_published=body.is_published,
        )
        session.add(post)
        await session.commit()
        return PostCreated.model_validate(post)

    @api.get("/api/posts/{slug}/")
    async def post_detail(slug: str, session: Session) -> PostDetail:
        statement = select(Post).options(joinedload(Post.author)).where(Post.slug == slug)
        post = (await session.scalars(statement)).first()
        if post is None:
            raise HTTPException(status_code=404, detail="Not found.")
        return PostDetail.model_validate(post)

    @api.get("/api/feed/")
    async def feed(request: Request, session: Session, cursor: str | None = None) -> FeedPage:
        columns = (Post.title, Post.slug, Post.author_id, Post.is_published, Post.view_count)
        statement = (
            select(Post)
            .options(load_only(*columns, Post.created_at))
            .order_by(Post.created_at.desc(), Post.id.desc())
            .limit(FEED_SIZE + 1)
        )
        if cursor is not None:
            statement = statement.where(
                tuple_(Post.created_at, Post.id) < tuple_(*_decode_cursor(cursor))
            )
        posts = list(await session.scalars(statement))
        following = None
        if len(posts) > FEED_SIZE:
            posts = posts[:FEED_SIZE]
            last = posts[-1]
            following = str(
                request.url.include_query_params(cursor=_encode_cursor(last.created_at, last.id))
            )
        return FeedPage(
            next=following, previous=None, results=[FeedItem.model_validate(p) for p in posts]
        )

    @api.get("/json")
    async def json_greeting() -> Message:
        return Message(message="Hello, World!")

    @api.get("/db")
    async def single_query(session: Session) -> WorldRow:
        world = await session.get(World, random.randint(1, WORLD_ROWS))
        return WorldRow.model_validate(world)

    @api.get("/queries")
    async def multiple_queries(session: Session, queries: str | None = None) -> list[WorldRow]:
        worlds = []
        for _ in range(_query_count(queries)):
            statement = select(World).where(World.id == random.randint(1, WORLD_ROWS))
            worlds.append(WorldRow.model_validate((await session.scalars(statement)).one()))
        return worlds

    @api.get("/fortunes", response_class=HTMLResponse)
    async def fortunes(request: Request, session: Session) -> HTMLResponse:
        rows = list(await session.scalars(select(Fortune)))
        rows.append(Fortune(id=0, message=ADDITIONAL_FORTUNE))
        rows.sort(key=lambda fortune: fortune.message)
        return TEMPLATES.TemplateResponse(request, "fortunes.html", {"fortunes": rows})

    @api.get("/updates")
    async def updates(session: Session, queries: str | None = None) -> list[WorldRow]:
        # Distinct ids: one batched write must not carry two values for one row.
        ids = random.sample(range(1, WORLD_ROWS + 1), _query_count(queries))
        worlds = []
        for world_id in ids:
            world = (await session.scalars(select(World).where(World.id == world_id))).one()
            world.randomnumber = random.randint(1, WORLD_ROWS)
            worlds.append(world)
        await session.commit()  # the unit of work sends the updates in one batch, by id
        return [WorldRow.model_validate(world) for world in worlds]

    return api
