"""Huge statements in the query log and slow-query warnings: SQL and parameters are cut to
a readable size with a marker saying how much was left out; secrets stay masked when an
``__in`` list travels as one parameter. Each test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import operator
import re
from functools import reduce

import pytest

from aksara import Q
from aksara.db.querylog import MAX_LOGGED_PARAMS, MAX_LOGGED_SQL
from aksara.debug import SlowQuery
from examples.blog.models import Post
from tests.debug.helpers import configured_database
from tests.debug.test_querylog import DebugAccount, assert_no_secret_logged, create_account

CUT = re.compile(r"… \[([\d,]+) more characters\]")


def huge_filter() -> Q:
    """An OR of 3,000 titles: some 70 KB of SQL and 150 KB of parameters."""
    return reduce(operator.or_, [Q(title=f"{i:06d}" * 8) for i in range(3_000)])


async def test_slow_query_warnings_cut_long_statements(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aksara.db.slow")
    received: list[SlowQuery] = []
    async with configured_database(
        database_url, SLOW_QUERY_MS=0, SLOW_QUERY_HANDLER=received.append
    ):
        caplog.clear()
        assert await Post.objects.filter(huge_filter()).count() == 0
        records = [
            r for r in caplog.records if r.name == "aksara.db.slow" and "COUNT" in r.msg % r.args
        ]
        handled = [query for query in received if "COUNT" in query.sql]
    assert len(records) == len(handled) == 1
    message = records[0].getMessage()
    sql = handled[0].sql
    assert len(sql) > 60_000
    assert len(message) < MAX_LOGGED_SQL + 1_000
    cut = CUT.search(message)
    assert cut is not None, message[-200:]
    assert int(cut.group(1).replace(",", "")) == len(sql) - MAX_LOGGED_SQL
    assert sql[:MAX_LOGGED_SQL] in message


async def test_query_log_cuts_long_statements_and_parameters(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        caplog.clear()
        assert await Post.objects.filter(huge_filter()).count() == 0
        assert await Post.objects.filter(id__in=range(50_000)).count() == 0
        messages = [
            r.getMessage()
            for r in caplog.records
            if r.name == "aksara.db" and "COUNT" in r.getMessage()
        ]
    assert len(messages) == 2
    for message in messages:
        assert len(message) < MAX_LOGGED_SQL + MAX_LOGGED_PARAMS + 1_000
        assert "; params=" in message
        assert CUT.search(message.rpartition("; params=")[2]), message[-200:]
    assert CUT.search(messages[0].rpartition("; params=")[0])


async def test_a_long_in_list_on_a_secret_column_stays_masked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        await create_account()
        caplog.clear()
        guesses = ["hunter2", "ak-live-123", *(f"guess-{i}" for i in range(100))]
        assert await DebugAccount.objects.filter(password__in=guesses).count() == 1
        logged = [r.getMessage() for r in caplog.records if r.name == "aksara.db"]
    counts = [message for message in logged if "COUNT" in message]
    assert len(counts) == 1 and counts[0].endswith("params=['***']")
    assert_no_secret_logged(logged)
