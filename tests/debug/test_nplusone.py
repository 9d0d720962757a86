"""N+1 detection: @detect_n_plus_one, NPlusOneMiddleware and normalize_sql."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

import aksara
from aksara.db import Database
from aksara.debug import (
    NPlusOneMiddleware,
    NPlusOneWarning,
    capture_queries,
    detect_n_plus_one,
    normalize_sql,
)
from examples.blog.models import Post, User
from examples.blog.seed import seed
from tests.debug.helpers import marked_line

HERE = __file__
USER_BY_ID = 'FROM "users" WHERE "users"."id" = ?'


@detect_n_plus_one
async def get_posts() -> list[str]:
    """The spec's loop: one query for the posts, then one per post for its author."""
    posts = await Post.objects.all()
    names = []
    for post in posts:
        author = await post.author  # <loop-author>
        names.append(author.name)
    return names


@detect_n_plus_one
async def get_posts_joined() -> list[str]:
    posts = await Post.objects.select_related("author").all()
    return [post.author.name for post in posts]


async def author_loop() -> list[str]:
    posts = await Post.objects.order_by("id")
    return [(await post.author).name for post in posts]


def n_plus_one_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, NPlusOneWarning)]


class no_n_plus_one_warning:
    """Fail if an NPlusOneWarning is issued inside the block (and show it)."""

    def __enter__(self) -> None:
        self._catch = warnings.catch_warnings(record=True)
        self._caught = self._catch.__enter__()
        warnings.simplefilter("always")

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)
        assert n_plus_one_warnings(self._caught) == []


def test_warning_is_a_user_warning() -> None:
    assert issubclass(NPlusOneWarning, UserWarning)


async def test_spec_loop_warns_with_the_headline(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    with pytest.warns(NPlusOneWarning) as caught:
        await get_posts()
    assert "N+1 detected!" in str(caught[0].message)


async def test_spec_loop_warns_with_count_sql_and_caller(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    async with capture_queries() as queries:
        with pytest.warns(NPlusOneWarning) as caught:
            names = await get_posts()
    assert len(names) == 10  # the result passes through
    messages = n_plus_one_warnings(caught.list)
    assert len(messages) == 1  # the posts query ran once: only the author lookup repeats
    message = messages[0]
    assert "N+1 detected" in message
    assert "Similar query executed 10 times:" in message
    assert USER_BY_ID in message
    assert normalize_sql(queries[1].sql) in message
    assert 'FROM "posts"' not in message
    assert f"{HERE}:{marked_line(HERE, 'loop-author')}" in message
    assert caught[0].filename == HERE  # attributed to the caller of the decorated function


async def test_threshold_is_five_by_default(db: Database) -> None:
    await seed(users=2, posts=4, comments=0)
    with no_n_plus_one_warning():
        assert len(await get_posts()) == 4
    author = await User.objects.first()
    await Post.objects.create(title="fifth", slug="fifth", author=author)  # at the threshold
    with pytest.warns(NPlusOneWarning, match="Similar query executed 5 times:"):
        assert len(await get_posts()) == 5


async def test_threshold_setting(db: Database) -> None:
    await seed(users=2, posts=3, comments=0)
    aksara.configure(N_PLUS_ONE_THRESHOLD=3)
    with pytest.warns(NPlusOneWarning, match="Similar query executed 3 times:"):
        await get_posts()
    aksara.configure(N_PLUS_ONE_THRESHOLD=4)
    with no_n_plus_one_warning():
        await get_posts()


async def test_threshold_argument(db: Database) -> None:
    await seed(users=2, posts=3, comments=0)
    aksara.configure(N_PLUS_ONE_THRESHOLD=10)  # the argument wins over the setting

    @detect_n_plus_one(threshold=3)
    async def three() -> list[str]:
        return await author_loop()

    @detect_n_plus_one(threshold=4)
    async def four() -> list[str]:
        return await author_loop()

    with pytest.warns(NPlusOneWarning, match="Similar query executed 3 times:"):
        assert len(await three()) == 3
    with no_n_plus_one_warning():
        assert len(await four()) == 3


async def test_select_related_version_does_not_warn(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    with no_n_plus_one_warning():
        names = await get_posts_joined()
    assert len(names) == 10


async def test_distinct_queries_do_not_add_up(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)

    @detect_n_plus_one
    async def varied() -> None:
        await Post.objects.count()
        await Post.objects.filter(is_published=True).count()
        await Post.objects.filter(view_count__gt=5).count()
        await Post.objects.filter(title="x").count()
        await Post.objects.filter(slug="x").count()
        await Post.objects.order_by("id").first()

    with no_n_plus_one_warning():
        await varied()


async def test_warning_can_be_made_an_error(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NPlusOneWarning)
        with pytest.raises(NPlusOneWarning, match="Similar query executed 10 times"):
            await get_posts()


# --- NPlusOneMiddleware --------------------------------------------------------------


async def loop_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A hand-written ASGI app whose one endpoint has an N+1 loop."""
    if scope["type"] != "http":
        return
    request = await receive()
    assert request["type"] == "http.request"
    body = json.dumps(await author_loop()).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def call(middleware: NPlusOneMiddleware, scope_type: str = "http") -> list[dict[str, Any]]:
    scope: dict[str, Any] = {"type": scope_type, "asgi": {"version": "3.0"}}
    if scope_type == "http":
        scope.update(method="GET", path="/posts", headers=[], query_string=b"")
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent


def response_names(sent: list[dict[str, Any]]) -> list[str]:
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    names: list[str] = json.loads(sent[1]["body"])
    return names


async def test_middleware_warns_when_detection_is_on(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    aksara.configure(DETECT_N_PLUS_ONE=True, DEBUG=False)
    with pytest.warns(NPlusOneWarning) as caught:
        sent = await call(NPlusOneMiddleware(loop_app))
    assert len(response_names(sent)) == 10  # the response went through
    messages = n_plus_one_warnings(caught.list)
    assert len(messages) == 1
    assert "N+1 detected" in messages[0]
    assert "GET /posts" in messages[0]
    assert "Similar query executed 10 times:" in messages[0]
    assert USER_BY_ID in messages[0]
    assert f"{HERE}:" in messages[0]


async def test_middleware_follows_debug_when_unset(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    aksara.configure(DETECT_N_PLUS_ONE=None, DEBUG=True)
    with pytest.warns(NPlusOneWarning, match="Similar query executed 10 times"):
        await call(NPlusOneMiddleware(loop_app))

    aksara.configure(DEBUG=False)
    with no_n_plus_one_warning():
        sent = await call(NPlusOneMiddleware(loop_app))
    assert len(response_names(sent)) == 10


async def test_middleware_does_nothing_when_off(db: Database) -> None:
    await seed(users=3, posts=10, comments=0)
    aksara.configure(DETECT_N_PLUS_ONE=False, DEBUG=True)
    with no_n_plus_one_warning():
        sent = await call(NPlusOneMiddleware(loop_app))
    assert len(response_names(sent)) == 10


async def test_middleware_threshold(db: Database) -> None:
    await seed(users=3, posts=4, comments=0)
    aksara.configure(DETECT_N_PLUS_ONE=True)
    with no_n_plus_one_warning():
        await call(NPlusOneMiddleware(loop_app))  # default threshold 5
    with pytest.warns(NPlusOneWarning, match="Similar query executed 4 times"):
        await call(NPlusOneMiddleware(loop_app, threshold=4))


async def test_middleware_passes_other_scopes_through(db: Database) -> None:
    aksara.configure(DETECT_N_PLUS_ONE=True)
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        for _ in range(6):
            await Post.objects.filter(title="x").count()

    with no_n_plus_one_warning():
        await call(NPlusOneMiddleware(app), scope_type="lifespan")
    assert seen == ["lifespan"]


# --- normalize_sql ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "shape"),
    [
        ("SELECT * FROM t WHERE id = 5", "SELECT * FROM t WHERE id = ?"),
        ("SELECT * FROM t WHERE id = ?", "SELECT * FROM t WHERE id = ?"),
        ("SELECT * FROM t WHERE id = $1 AND x = $12", "SELECT * FROM t WHERE id = ? AND x = ?"),
        ("SELECT * FROM t WHERE name = 'bob'", "SELECT * FROM t WHERE name = ?"),
        ("SELECT * FROM t WHERE name = 'it''s'", "SELECT * FROM t WHERE name = ?"),
        ("SELECT * FROM t WHERE x = -2.5", "SELECT * FROM t WHERE x = ?"),
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id IN ($1, $2)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t WHERE id IN (?, ?, ?, ?)", "SELECT * FROM t WHERE id IN (?)"),
        ("SELECT * FROM t LIMIT 21 OFFSET 40", "SELECT * FROM t LIMIT ? OFFSET ?"),
        ('SELECT "t1"."col2" FROM "t1"', 'SELECT "t1"."col2" FROM "t1"'),
        ("SELECT  a,\n\tb   FROM t ", "SELECT a, b FROM t"),
    ],
)
def test_normalize_sql(sql: str, shape: str) -> None:
    assert normalize_sql(sql) == shape


def test_normalize_sql_gives_one_shape_for_different_values() -> None:
    shapes = {
        normalize_sql(f'SELECT * FROM "users" WHERE "users"."id" = {i} LIMIT 2')
        for i in range(1, 30)
    }
    assert shapes == {'SELECT * FROM "users" WHERE "users"."id" = ? LIMIT ?'}
    assert normalize_sql("SELECT 1 FROM a") != normalize_sql("SELECT 1 FROM b")
