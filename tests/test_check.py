"""``aksara check``: the production checklist on apps that pass and apps that fail each
check, on both databases, and the command on the blog example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.middleware import Middleware
from starlette.requests import Request

import aksara
from aksara import Aksara
from aksara.api import ModelSerializer, ReadOnlyModelViewSet, Response, Router
from aksara.api.pagination import PageNumberPagination
from aksara.checks import (
    Finding,
    Status,
    check_secret_key,
    exit_status,
    is_indexed,
    render_json,
    render_text,
    run_checks,
)
from aksara.cli import main
from aksara.conf import settings
from aksara.db import Database
from examples.blog.app import app as blog_app
from examples.blog.models import Post, User
from examples.blog.seed import GUIDE_SLUG, seed_api
from tests.api.input_models import Essay
from tests.test_cli import in_project, one_error_line
from tests.test_serve import seeded_project

__all__ = ["in_project"]

PRODUCTION = {
    "COMPRESSION": {"minimum_size": 500},
    "DETECT_N_PLUS_ONE": False,
    "LOG_QUERIES": False,
}


class PostSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "created_at"]


class CarefulViewSet(ReadOnlyModelViewSet):
    """Paginated, filtered and ordered by indexed fields, looked up by an indexed slug."""

    queryset = Post.objects.select_related("author")
    serializer_class = PostSerializer
    pagination_class = PageNumberPagination
    lookup_field = "slug"
    filterset_fields = {"author": ["exact"], "is_published": ["exact"], "tags": ["exact"]}
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at"]
    max_queries = 3


class Unbounded:
    """A project's own paginator: ``?size=`` rows, as many as a client asks for."""

    async def paginate_queryset(self, queryset: Any, request: Request, view: Any) -> list[Any]:
        self.count = await queryset.count()
        rows: list[Any] = await queryset.all()
        return rows[: int(request.query_params.get("size", 10))]

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"count": self.count, "results": data})


class CarelessViewSet(ReadOnlyModelViewSet):
    """Every mistake the checklist looks for."""

    queryset = Post.objects.order_by("id")
    serializer_class = PostSerializer
    filterset_fields = ["title"]
    ordering_fields = ["view_count"]

    async def list(self, request: Request) -> Response:
        names = []
        for post in await Post.objects.order_by("id"):
            author = await post.author  # one query per post: the N+1
            names.append(author.name)
        return Response(names)


class NoCapViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.order_by("id")
    serializer_class = PostSerializer
    pagination_class = Unbounded
    max_queries = 1  # the page and its count are two


def app_of(**viewsets: type[ReadOnlyModelViewSet]) -> Aksara:
    router = Router()
    for prefix, viewset in viewsets.items():
        router.register(prefix, viewset, basename=prefix)
    app = Aksara()
    app.include_router(router)
    return app


async def make_posts(count: int) -> list[Post]:
    authors = [await User.objects.create(name=f"U{i}", email=f"u{i}@example.com") for i in range(2)]
    return [
        await Post.objects.create(title=f"T{i}", slug=f"t-{i}", author=authors[i % 2])
        for i in range(count)
    ]


def by_check(findings: list[Finding], check: str) -> list[Finding]:
    return [finding for finding in findings if finding.check == check]


async def test_a_production_ready_app_passes_every_check(db: Database) -> None:
    posts = await make_posts(6)
    aksara.configure(**PRODUCTION)
    findings = await run_checks(app_of(careful=CarefulViewSet), workers=1)
    assert [finding.check for finding in findings] == [
        *("debug", "pool", "cache", "compression", "debug_tools", "pagination"),
        *("n_plus_one", "n_plus_one", "indexes"),
    ]
    assert all(finding.status is Status.PASS for finding in findings), render_text(findings)
    assert exit_status(findings) == 0
    listing, detail = by_check(findings, "n_plus_one")
    assert (
        listing.message == "GET /api/careful/ (CarefulViewSet.list): 2 queries (budget 3), no N+1."
    )
    newest = posts[-1].slug  # ordered by -created_at
    assert detail.details == {
        "path": f"/api/careful/{newest}/",
        "status": 200,
        "queries": 1,
        "budget": 3,
    }
    assert by_check(findings, "indexes")[0].message == (
        "Every filtered, ordered and looked-up field of 1 viewset(s) is indexed."
    )


async def test_a_careless_app_fails_with_what_to_do(db: Database) -> None:
    await make_posts(6)
    aksara.configure(DEBUG=True, LOG_QUERIES=True)
    findings = await run_checks(app_of(careless=CarelessViewSet, nocap=NoCapViewSet), workers=4)
    text = render_text(findings)
    assert exit_status(findings) == 1
    status = {finding.check: finding.status for finding in findings}
    assert status["debug"] is Status.FAIL
    assert status["compression"] is Status.WARN
    assert status["debug_tools"] is Status.WARN
    assert "LOG_QUERIES = False" in by_check(findings, "debug_tools")[0].message
    cache = by_check(findings, "cache")[0]
    assert cache.status is Status.WARN and "4 workers keep 4 copies" in cache.message
    unpaginated, uncapped = by_check(findings, "pagination")
    assert unpaginated.status is Status.FAIL
    assert "GET /api/careless/ (CarelessViewSet) returns every row" in unpaginated.message
    assert uncapped.status is Status.WARN and "set max_page_size" in uncapped.message
    careless_list, careless_detail, nocap_list, _nocap_detail = by_check(findings, "n_plus_one")
    assert careless_list.status is Status.FAIL
    assert careless_list.details["queries"] == 7  # the posts, then each one's author
    assert 'FROM "users"' in careless_list.message and "ran 6 times from" in careless_list.message
    assert __file__ in careless_list.message
    assert 'load it with queryset.select_related("author")' in careless_list.message
    assert careless_detail.status is Status.PASS  # its own pk lookup: one query
    assert careless_detail.details["path"] == "/api/careless/1/"
    assert nocap_list.status is Status.FAIL  # a 500 under DEBUG, and the reason why
    assert "2 queries; over its budget of 1 (max_queries)" in nocap_list.message
    indexes = {finding.details["field"]: finding for finding in by_check(findings, "indexes")}
    assert set(indexes) == {"title", "view_count"}
    assert indexes["view_count"].status is Status.WARN
    assert indexes["view_count"].message == (
        "Post.view_count has no index (CarelessViewSet.ordering_fields): add db_index=True to "
        'it, or Index(fields=["view_count"]) to Post.Meta.indexes.'
    )
    assert "(CarelessViewSet.filterset_fields)" in indexes["title"].message
    assert text.splitlines()[-1] == "3 passed, 6 warnings, 4 failed (13 checks)."


async def test_the_pool_is_compared_with_the_servers_connection_limit(db: Database) -> None:
    aksara.configure(**PRODUCTION)
    app = app_of(careful=CarefulViewSet)
    size = settings.DATABASE_POOL["max_size"]
    query = db.dialect.connection_limit_sql
    # Asked before the checks, whose run of the app's lifespan closes the database.
    expected = None
    if query is not None:
        reserved = await db.fetchval("SHOW superuser_reserved_connections")
        expected = int(await db.fetchval("SHOW max_connections")) - int(reserved)
    pool = by_check(await run_checks(app, workers=2), "pool")[0]
    assert pool.details["connections"] == 2 * size
    if query is None:
        assert pool.status is Status.PASS and "no server connection limit" in pool.message
        crowded = by_check(await run_checks(app, workers=10_000), "pool")[0]
        assert crowded.status is Status.PASS
        return
    limit = pool.details["server_limit"]
    assert limit == expected > 0
    assert pool.status is Status.PASS
    near = by_check(await run_checks(app, workers=limit // size), "pool")[0]
    assert near.status is Status.WARN and "leave room for other clients" in near.message
    over = by_check(await run_checks(app, workers=limit // size + 1), "pool")[0]
    assert over.status is Status.FAIL
    assert f"the server takes {limit}: set max_size <= " in over.message


async def test_a_list_that_hides_its_lookup_field_is_checked_from_the_table(
    db: Database,
) -> None:
    class TitlesSerializer(ModelSerializer):
        class Meta:
            model = Post
            fields = ["title"]

    class TitlesViewSet(CarefulViewSet):
        serializer_class = TitlesSerializer

    await make_posts(2)
    findings = await run_checks(app_of(titles=TitlesViewSet), workers=1)
    detail = by_check(findings, "n_plus_one")[1]
    assert detail.details["path"] == "/api/titles/t-0/"
    assert detail.status is Status.PASS


async def test_an_empty_table_leaves_the_detail_unchecked(db: Database) -> None:
    findings = await run_checks(app_of(careful=CarefulViewSet), workers=1)
    listing, detail = by_check(findings, "n_plus_one")
    assert listing.status is Status.PASS
    assert detail.status is Status.WARN and "no rows to request" in detail.message


async def test_the_blog_example_passes_all_but_its_documented_warnings(db: Database) -> None:
    await seed_api(users=3, posts=12, comments=20)
    without_key = await run_checks(blog_app, workers=1)
    secret = by_check(without_key, "secret_key")[0]  # the example signs tokens
    assert secret.status is Status.FAIL and "cannot be signed" in secret.message
    aksara.configure(SECRET_KEY="check-test-secret-key-0123456789-abcdefghij")
    findings = await run_checks(blog_app, workers=1)
    assert exit_status(findings) == 0, render_text(findings)
    warned = [
        finding.message.split(" ", 1)[0] for finding in findings if finding.status is Status.WARN
    ]
    assert warned == ["Responses", "Post.view_count", "Post.title"]
    paths = [finding.details["path"] for finding in by_check(findings, "n_plus_one")]
    assert f"/api/posts/{GUIDE_SLUG}/" in paths
    assert all(finding.status is Status.PASS for finding in by_check(findings, "n_plus_one"))


def test_an_index_counts_when_it_leads_with_the_field() -> None:
    post = Post._meta.get_field
    assert is_indexed(post("id")) and is_indexed(post("slug"))  # primary key, db_index
    assert is_indexed(post("author"))  # a foreign key is indexed by default
    assert is_indexed(post("is_published"))  # the first field of a Meta index
    assert is_indexed(User._meta.get_field("email"))  # unique
    assert not is_indexed(post("view_count"))
    assert is_indexed(Essay._meta.get_field("writer"))  # leads unique_together
    assert not is_indexed(Essay._meta.get_field("title"))  # second in it: no help alone


def test_the_secret_key_is_checked_when_the_project_has_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert check_secret_key() is None  # no such setting: nothing to say
    values: dict[str, Any] = {}
    monkeypatch.setattr(settings, "as_dict", lambda: dict(values))
    for key, expected in [("", Status.FAIL), ("short", Status.WARN), ("x" * 48, Status.PASS)]:
        values["SECRET_KEY"] = key
        finding = check_secret_key()
        assert finding is not None and finding.status is expected, key


def test_json_output_carries_every_finding() -> None:
    findings = [
        Finding("debug", Status.PASS, "DEBUG is off."),
        Finding("pagination", Status.FAIL, "set it", {"max_page_size": None}),
    ]
    document = orjson.loads(render_json(findings))
    assert document["status"] == 1
    assert document["totals"] == {"pass": 1, "warn": 0, "fail": 1}
    assert document["findings"][1] == {
        "check": "pagination",
        "status": "FAIL",
        "message": "set it",
        "details": {"max_page_size": None},
    }


def run_command(
    tmp_path: Path, env: dict[str, str], *arguments: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aksara.cli", "check", *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_checks_the_example_and_exits_by_its_worst_finding(tmp_path: Path) -> None:
    env = seeded_project(tmp_path)
    one = run_command(tmp_path, env, "examples.blog.app:app", "--workers", "1", "--json")
    assert one.returncode == 0, one.stdout + one.stderr
    document = orjson.loads(one.stdout)
    assert document["totals"]["fail"] == 0
    cache = next(item for item in document["findings"] if item["check"] == "cache")
    assert cache["status"] == "PASS"
    (tmp_path / "settings.py").write_text(
        (tmp_path / "settings.py").read_text().replace("}", ", 'DEBUG': True}")
    )
    debug = run_command(tmp_path, env, "examples.blog.app:app", "--workers", "4")
    assert debug.returncode == 1, debug.stdout + debug.stderr
    lines = debug.stdout.splitlines()
    assert any(line.startswith("FAIL  debug ") for line in lines)
    assert any(line.startswith("WARN  cache ") and "4 workers" in line for line in lines)
    assert os.path.exists(tmp_path / "blog.sqlite3")


def test_a_bad_target_is_one_line_and_status_2(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "examples.blog.app:router"]) == 2
    assert "is a Router, not an ASGI app" in one_error_line(capsys.readouterr().err)
    assert main(["check", "examples.blog.app"]) == 2
    assert "aksara check takes module:app" in one_error_line(capsys.readouterr().err)
    assert main(["check", "examples.blog.app:app", "--workers", "0"]) == 1
    assert "--workers takes a number of processes" in one_error_line(capsys.readouterr().err)


class RaisingMiddleware:
    """Fails every request outside any viewset: Starlette answers 500, then re-raises."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise RuntimeError("the middleware is broken")
        await self.app(scope, receive, send)


class BrokenViewSet(CarefulViewSet):
    async def list(self, request: Request) -> Response:
        raise RuntimeError("the list is broken")


async def test_an_endpoint_that_fails_is_a_failure_with_its_answer(db: Database) -> None:
    await make_posts(1)
    findings = await run_checks(app_of(broken=BrokenViewSet), workers=1)
    listing, detail = by_check(findings, "n_plus_one")
    assert listing.status is Status.FAIL
    assert "GET /api/broken/ (BrokenViewSet.list): 0 queries; answered 500: {" in listing.message
    assert detail.status is Status.PASS  # found in the table: the list showed nothing
    app = app_of(careful=CarefulViewSet)
    app.user_middleware.append(Middleware(RaisingMiddleware))
    raised = by_check(await run_checks(app, workers=1), "n_plus_one")[0]
    assert raised.status is Status.FAIL
    assert raised.message.endswith("answered 500: RuntimeError: the middleware is broken.")


async def test_a_database_without_the_tables_fails_saying_to_migrate(db: Database) -> None:
    table = Post._meta.table_name
    await db.execute(f"ALTER TABLE {table} RENAME TO unmigrated_posts_of_check")
    try:
        findings = await run_checks(app_of(careful=CarefulViewSet), workers=1)
    finally:
        await db.execute(f"ALTER TABLE unmigrated_posts_of_check RENAME TO {table}")
    listing, detail = by_check(findings, "n_plus_one")
    assert listing.status is Status.FAIL and "answered 500" in listing.message
    assert detail.status is Status.FAIL
    assert "could not be read" in detail.message and "aksara migrate" in detail.message
