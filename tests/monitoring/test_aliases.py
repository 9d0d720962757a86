"""Metrics by database alias: with several DATABASES, each alias's pool gauges and query
durations are their own series (the backend's name alone would merge a primary and its
replica)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.db import Database
from examples.blog.models import Post
from tests.monitoring.helpers import client_for, scrape, value


async def count_on_both(request: Request) -> JSONResponse:
    """One query on the default database, two on "analytics"."""
    default = await Post.objects.count()
    analytics = await Post.objects.using("analytics").count()
    await Post.objects.using("analytics").exists()
    return JSONResponse({"default": default, "analytics": analytics})


async def test_pool_gauges_and_query_durations_by_alias(db: Database, tmp_path: Path) -> None:
    # "analytics" is a second pool on the same database (a file of its own on SQLite would
    # need the tables made there too): what matters is that it is counted apart.
    aksara.configure(
        DATABASES={
            "default": {"url": db.url, "pool": db.pool_options},
            "analytics": {"url": db.url, "pool": {**db.pool_options, "max_size": 3}},
        },
        METRICS={},
    )
    app = Aksara(routes=[Route("/both", count_on_both)])
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/both")).json() == {"default": 0, "analytics": 0}
        after = await scrape(client)
    name = "aksara_db_query_duration_seconds_count"
    for alias, queries in (("default", 1), ("analytics", 2)):
        labels = {"database": db.name, "alias": alias}
        assert value(after, name, **labels) - value(before, name, **labels) == queries
    analytics = {"database": db.name, "alias": "analytics"}
    assert value(after, "aksara_db_pool_max_size", **analytics) == 3
    assert value(after, "aksara_db_pool_size", **analytics) >= 1
    default = {"database": db.name, "alias": "default"}
    assert value(after, "aksara_db_pool_max_size", **default) == db.pool_options["max_size"]
