"""Query budgets: a viewset's ``max_queries``, ``@action(max_queries=...)`` and the
``MAX_QUERIES_PER_REQUEST`` setting; a warning in production, a 500 under DEBUG; and the
``assert_query_budget`` test helper."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.requests import Request

import aksara
from aksara import Aksara
from aksara.api import ModelSerializer, ReadOnlyModelViewSet, Response, Router, action
from aksara.db import Database
from aksara.exceptions import ConfigurationError
from aksara.testing import assert_query_budget
from examples.blog.models import Comment, Post, User

HERE = __file__


class PostSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title"]


async def authors_one_by_one() -> list[str]:
    names = []
    for post in await Post.objects.order_by("id"):
        author = await post.author  # the N+1 this module's budgets catch
        names.append(author.name)
    return names


class BudgetedViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.order_by("id")
    serializer_class = PostSerializer
    max_queries = 2

    @action(detail=False)
    async def authors(self, request: Request) -> Response:
        return Response(await authors_one_by_one())

    @action(detail=False, max_queries=10)
    async def roomy(self, request: Request) -> Response:
        return Response(await authors_one_by_one())


class PlainViewSet(ReadOnlyModelViewSet):
    queryset = Post.objects.order_by("id")
    serializer_class = PostSerializer

    @action(detail=False)
    async def authors(self, request: Request) -> Response:
        return Response(await authors_one_by_one())

    @action(detail=False, max_queries=1)
    async def strict(self, request: Request) -> Response:
        return Response(await authors_one_by_one())

    @action(detail=False, max_queries=2)
    async def comment_counts(self, request: Request) -> Response:
        posts = await Post.objects.order_by("id")
        return Response([len(await post.comments.all()) for post in posts])


router = Router()
router.register("budgeted", BudgetedViewSet, basename="budgeted")
router.register("plain", PlainViewSet, basename="plain")
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


async def make_posts(count: int) -> None:
    for number in range(count):
        user = await User.objects.create(name=f"U{number}", email=f"u{number}@example.com")
        await Post.objects.create(title=f"P{number}", slug=f"p{number}", author=user)


def budget_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "aksara.budget"]


def assert_report(text: str, endpoint: str, count: int, budget: int) -> None:
    assert f"Query budget exceeded: {endpoint} ran {count} queries, budget {budget}." in text
    assert "Most repeated query (4 times): SELECT" in text
    assert 'FROM "users" WHERE' in text
    assert f"Run from: {HERE}:" in text
    assert 'Load the relation in the first query: queryset.select_related("author")' in text


async def test_under_budget_nothing(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    await make_posts(4)
    caplog.set_level(logging.WARNING)
    async with client() as http:
        response = await http.get("/api/budgeted/")
        roomy = await http.get("/api/budgeted/roomy/")
    assert response.status_code == 200 and len(response.json()) == 4
    assert roomy.json() == ["U0", "U1", "U2", "U3"]
    assert budget_lines(caplog) == []


async def test_over_budget_logs_a_warning_in_production(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await make_posts(4)
    caplog.set_level(logging.WARNING)
    async with client() as http:
        response = await http.get("/api/budgeted/authors/")
    assert response.status_code == 200 and response.json() == ["U0", "U1", "U2", "U3"]
    [line] = budget_lines(caplog)
    endpoint = "GET /api/budgeted/authors/ (BudgetedViewSet.authors)"
    assert_report(line, endpoint, 5, 2)
    assert [r.levelname for r in caplog.records if r.name == "aksara.budget"] == ["WARNING"]


async def test_over_budget_is_a_500_under_debug(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await make_posts(4)
    aksara.configure(DEBUG=True)
    async with client() as http:
        response = await http.get("/api/budgeted/authors/")
    assert response.status_code == 500
    endpoint = "GET /api/budgeted/authors/ (BudgetedViewSet.authors)"
    assert_report(response.json()["detail"], endpoint, 5, 2)
    assert budget_lines(caplog) == [response.json()["detail"]]
    assert [r.levelname for r in caplog.records if r.name == "aksara.budget"] == ["ERROR"]


async def test_the_setting_applies_and_action_budgets_override_it(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await make_posts(4)
    caplog.set_level(logging.WARNING)
    async with client() as http:
        assert (await http.get("/api/plain/authors/")).status_code == 200
        assert budget_lines(caplog) == []  # no setting, no budget
        aksara.configure(MAX_QUERIES_PER_REQUEST=3)
        await http.get("/api/plain/authors/")
        await http.get("/api/plain/")  # one query: within the setting
        await http.get("/api/plain/strict/")  # the action's 1 beats the setting's 3
        await http.get("/api/budgeted/roomy/")  # the action's 10 beats the viewset's 2
    first, second = budget_lines(caplog)
    assert_report(first, "GET /api/plain/authors/ (PlainViewSet.authors)", 5, 3)
    assert_report(second, "GET /api/plain/strict/ (PlainViewSet.strict)", 5, 1)


async def test_the_helper_passes_and_fails_with_the_same_text(db: Database) -> None:
    await make_posts(4)
    response = await assert_query_budget(APP, "get", "/api/plain/authors/", max_queries=5)
    assert response.json() == ["U0", "U1", "U2", "U3"]
    with pytest.raises(AssertionError) as failed:
        await assert_query_budget(APP, "GET", "/api/plain/authors/", max_queries=4)
    assert_report(str(failed.value), "GET /api/plain/authors/ (PlainViewSet.authors)", 5, 4)
    async with client() as http:
        await assert_query_budget(http, "GET", "/api/plain/", max_queries=1)
        with pytest.raises(AssertionError, match=r"PlainViewSet\.list"):
            await assert_query_budget(http, "GET", "/api/plain/", max_queries=0)


async def test_a_reverse_relation_read_per_row_suggests_prefetch_related(db: Database) -> None:
    await make_posts(3)
    user = await User.objects.get(pk=1)
    await Comment.objects.create(post=await Post.objects.get(pk=2), author=user, body="Hi")
    aksara.configure(DEBUG=True)
    async with client() as http:
        response = await http.get("/api/plain/comment_counts/")
    text = response.json()["detail"]
    assert response.status_code == 500
    assert "GET /api/plain/comment_counts/ (PlainViewSet.comment_counts) ran 4 queries" in text
    assert "Most repeated query (3 times): SELECT" in text and 'FROM "comments"' in text
    assert 'Load the relation in the first query: queryset.prefetch_related("comments")' in text


def test_budgets_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="MAX_QUERIES_PER_REQUEST must be an integer"):
        aksara.configure(MAX_QUERIES_PER_REQUEST="3")

    class Bad(ReadOnlyModelViewSet):
        queryset = Post.objects.all()
        serializer_class = PostSerializer
        max_queries: Any = -1

    bad = Router()
    bad.register("bad", Bad, basename="bad")
    with pytest.raises(ConfigurationError, match=r"Bad\.max_queries must be None or an integer"):
        bad.routes  # noqa: B018
