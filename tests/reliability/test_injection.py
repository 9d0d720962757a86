"""Identifier attacks shaped on Django's SQL-injection CVEs (column aliases of annotate and
values, order_by, JSON keys, filter keys; CVE-2019-14234, CVE-2021-35042, CVE-2022-28346,
CVE-2022-34265, CVE-2024-42005, ...), through the ORM and every HTTP entry point of the
example API. Each is refused before any SQL is built (FieldError, a 400), or bound as a
value; none runs: a canary table outlives them all and no statement carries their text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from aksara import Count, F, FieldError, ValidationError
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.app import app
from examples.blog.models import Post, User
from tests.db.helpers import unique_name
from tests.models import Kitchen

pytestmark = pytest.mark.fault

CANARY = unique_name("canary")

#: Identifiers a client might send where Aksara expects a field, lookup or alias name.
ATTACKS = [
    f"id; DROP TABLE {CANARY}; --",
    f'id" FROM users; DROP TABLE {CANARY}; --',
    f"title') OR 1=1; DROP TABLE {CANARY}; --",
    "id) UNION SELECT password FROM users --",
    "id\x00",
    "title__contains') OR ('1'='1",
    "author__email__exact=1 OR 1=1",
    f'"; DROP TABLE {CANARY}; --',
    "(SELECT 1)",
    "1",
    "__class__",
    "id__" + "x" * 300,
    "title/*",
    "id--",
    "data__key') = '1' OR 1=1 --",
    "pk__in",
    'title COLLATE "C"',
    "-id; DELETE FROM posts",
    "?",
    "$1",
    "%s",
]


@pytest.fixture
async def canary(db: Database) -> Any:
    await db.execute(f"CREATE TABLE {CANARY} (x INTEGER)")
    await db.execute(f"INSERT INTO {CANARY} (x) VALUES (1)")
    yield
    assert await db.fetchval(f"SELECT count(*) FROM {CANARY}") == 1
    await db.execute(f"DROP TABLE {CANARY}")


def _assert_not_in_sql(queries: Any, attack: str) -> None:
    if len(attack) < 4:
        return  # "1", "?" or "%s" are in plenty of honest statements
    for query in queries:
        assert attack not in query.sql, query.sql


ORM_ENTRY_POINTS = {
    "filter": lambda name: Post.objects.filter(**{name: 1}),
    "exclude": lambda name: Post.objects.exclude(**{name: 1}),
    "order_by": lambda name: Post.objects.order_by(name),
    "values": lambda name: Post.objects.values(name),
    "values_list": lambda name: Post.objects.values_list(name),
    "only": lambda name: Post.objects.only(name),
    "select_related": lambda name: Post.objects.select_related(name),
    "prefetch_related": lambda name: Post.objects.prefetch_related(name),
    "F": lambda name: Post.objects.filter(view_count=F(name)),
    "Count": lambda name: Post.objects.annotate(n=Count(name)),
    "annotate alias": lambda name: Post.objects.annotate(**{name: Count("comments")}),
    "json key": lambda name: Kitchen.objects.filter(**{f"data__{name}": 1}),
}


@pytest.mark.parametrize("entry", list(ORM_ENTRY_POINTS))
async def test_orm_refuses_hostile_identifiers(db: Database, canary: None, entry: str) -> None:
    build = ORM_ENTRY_POINTS[entry]
    accepted: list[str] = []
    async with capture_queries() as queries:
        for attack in ATTACKS:
            if entry == "order_by" and attack == "?":
                continue  # random order, as in Django: no identifier reaches the SQL
            try:
                await build(attack)
            except (FieldError, ValueError, TypeError):
                continue
            accepted.append(attack)
    assert not accepted
    assert len(queries) == 0, queries.report()


async def test_orm_binds_hostile_values(db: Database, canary: None) -> None:
    await User.objects.create(name="100% sure", email="a@example.com")
    await User.objects.create(name="1000 sure", email="b@example.com")
    await User.objects.create(name="under_score", email="c@example.com")
    await User.objects.create(name="underXscore", email="d@example.com")
    await User.objects.create(name="back\\slash", email="e@example.com")
    async with capture_queries() as queries:
        for attack in ATTACKS:
            try:
                assert await User.objects.filter(name=attack).count() == 0
                found = await User.objects.filter(name__icontains=attack).count()
                assert found == 0 or len(attack) < 4  # "1" is in "100% sure", honestly
            except ValidationError as error:  # a NUL, which PostgreSQL cannot store
                assert "NUL" in str(error)
        # LIKE's wildcards and escape character match themselves only.
        assert [u.name for u in await User.objects.filter(name__contains="0%")] == ["100% sure"]
        assert [u.name for u in await User.objects.filter(name__contains="r_s")] == ["under_score"]
        assert await User.objects.filter(name__startswith="%").count() == 0
        assert await User.objects.filter(name__icontains="k\\s").count() == 1
        assert await User.objects.filter(name__endswith="_").count() == 0
    for attack in ATTACKS:
        _assert_not_in_sql(queries, attack)


@pytest.fixture
async def http(db: Database) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        yield client


HTTP_PARAMETERS = {
    "ordering": lambda attack: {"ordering": attack},
    "ordering, second": lambda attack: {"ordering": f"title,{attack}"},
    "fields": lambda attack: {"fields": attack},
    "fields, second": lambda attack: {"fields": f"id,{attack}"},
    "filter key": lambda attack: {attack: "1"},
    "filter key with lookup": lambda attack: {f"author__{attack}": "1"},
    "filter value": lambda attack: {"author": attack},
    "filter list": lambda attack: {"author__in": f"1,{attack}"},
    "search": lambda attack: {"search": attack},
    "page": lambda attack: {"page": attack},
    "page_size": lambda attack: {"page_size": attack},
}


@pytest.mark.parametrize("parameter", list(HTTP_PARAMETERS))
async def test_http_entry_points_refuse_or_bind(
    http: httpx.AsyncClient, canary: None, parameter: str
) -> None:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    await Post.objects.create(title="Hello", slug="hello", author=author)
    statuses: dict[int, int] = {}
    for path in ("/api/posts/", "/api/users/", "/api/comments/", "/api/tags/"):
        for attack in ATTACKS:
            async with capture_queries() as queries:
                response = await http.get(path, params=HTTP_PARAMETERS[parameter](attack))
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code in (200, 400, 404), (path, attack, response.text)
            if response.status_code == 400:
                assert response.json()  # a message naming what was wrong
            _assert_not_in_sql(queries, attack)
            # Errors echo the bad name, never SQL (identifiers are quoted there) or a trace.
            assert "Traceback" not in response.text and '"posts"' not in response.text
    assert 500 not in statuses


async def test_search_wildcards_match_literally(http: httpx.AsyncClient) -> None:
    author = await User.objects.create(name="Ann", email="ann@example.com")
    for title in ("50% off", "500 off", "a_b", "axb"):
        await Post.objects.create(title=title, slug=unique_name("s"), author=author)

    async def titles(term: str) -> list[str]:
        response = await http.get("/api/posts/", params={"search": term})
        assert response.status_code == 200
        return sorted(post["title"] for post in response.json()["results"])

    assert await titles("0%") == ["50% off"]
    assert await titles("a_b") == ["a_b"]
    assert await titles("%") == ["50% off"]
    assert await titles("_") == ["a_b"]
