"""Query logging (LOG_QUERIES / DEBUG, secrets masked) and slow-query alerts
(SLOW_QUERY_MS, SLOW_QUERY_HANDLER); each test builds the default database from settings."""

from __future__ import annotations

import logging
import re

import pytest

from aksara import Model, fields
from aksara.db import Database
from aksara.debug import SlowQuery, capture_queries, mask_params
from aksara.exceptions import DatabaseError
from examples.blog.models import Post, User
from tests.debug.helpers import configured_database, marked_line

HERE = __file__
TIMING = re.compile(r"^\(\d+\.\d\d ms, \d+ rows\) ")


class DebugAccount(Model):
    """A model with secret-looking columns: their values must never reach the log."""

    username = fields.String(max_length=50)
    password = fields.String(max_length=100)
    api_key = fields.String(max_length=100, null=True)
    token = fields.String(max_length=100, null=True)
    secret = fields.String(max_length=100, null=True)

    class Meta:
        table_name = "debug_accounts"


SECRETS = ("hunter2", "ak-live-123", "tok-456", "the-secret")

HANDLED: list[SlowQuery] = []


def record_slow_query(query: SlowQuery) -> None:
    """SLOW_QUERY_HANDLER given as a dotted path."""
    HANDLED.append(query)


def query_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "aksara.db" and record.levelno == logging.DEBUG
    ]


def slow_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "aksara.db.slow"]


def logs_of(caplog: pytest.LogCaptureFixture, fragment: str) -> list[str]:
    found = [message for message in query_logs(caplog) if fragment in message]
    assert found, f"no query log contains {fragment!r}: {query_logs(caplog)}"
    return found


async def create_account() -> DebugAccount:
    return await DebugAccount.objects.create(
        username="bob",
        password="hunter2",
        api_key="ak-live-123",
        token="tok-456",
        secret="the-secret",
    )


def assert_no_secret_logged(logged: list[str]) -> None:
    assert logged
    for message in logged:
        for secret in SECRETS:
            assert secret not in message, f"{secret!r} logged in {message!r}"


# --- LOG_QUERIES -----------------------------------------------------------------------


async def test_every_query_is_logged_with_sql_duration_and_params(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True) as database:
        caplog.clear()
        async with capture_queries(include_transaction_control=True) as queries:
            user = await User.objects.create(name="Ann", email="ann@example.com")
            assert await User.objects.filter(email="ann@example.com").count() == 1
            await User.objects.filter(id=user.id).update(name="Anna")
            await database.fetchval("SELECT 1")
        logged = query_logs(caplog)

    assert len(queries) == 4
    assert len(logged) == len(queries)
    for message, query in zip(logged, queries, strict=True):
        assert TIMING.match(message), message
        assert f") {query.sql}; params=" in message
        duration = float(message[1:].split(" ms")[0])
        assert duration == pytest.approx(query.duration, abs=0.006)
    assert "'ann@example.com'" in logged[0]
    assert logged[1].endswith("; params=['ann@example.com']")
    assert logged[2].endswith(f"; params=['Anna', {user.id}]")
    assert logged[3].endswith("; params=[]")
    assert ", 1 rows)" in logged[1]


async def test_debug_turns_query_logging_on(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, DEBUG=True, LOG_QUERIES=False):
        caplog.clear()
        await User.objects.filter(name="debugging").count()
        logged = query_logs(caplog)
    assert len(logged) == 1
    assert 'SELECT COUNT(*) FROM "users"' in logged[0]
    assert logged[0].endswith("params=['debugging']")


async def test_nothing_is_logged_without_log_queries(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara")
    async with configured_database(database_url, LOG_QUERIES=False, DEBUG=False) as database:
        caplog.clear()
        await User.objects.create(name="Quiet", email="quiet@example.com")
        await User.objects.filter(name="Quiet").count()
        await database.fetchval("SELECT 1")
        assert query_logs(caplog) == []
    assert [r for r in caplog.records if r.name.startswith("aksara.db") and r.levelno < 30] == []


async def test_a_failed_statement_is_logged_too(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True) as database:
        caplog.clear()
        with pytest.raises(DatabaseError):
            await database.fetch("SELEKT 1")
        logged = query_logs(caplog)
    assert any("SELEKT 1" in message for message in logged), logged


# --- masking -----------------------------------------------------------------------------


async def test_insert_masks_secret_columns(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        caplog.clear()
        await create_account()
        await DebugAccount.objects.bulk_create(
            [
                DebugAccount(username="amy", password="hunter2", token="tok-456"),
                DebugAccount(username="joe", password="hunter2", secret="the-secret"),
            ]
        )
        single, bulk = logs_of(caplog, 'INSERT INTO "debug_accounts"')
        logged = query_logs(caplog)
    assert "'bob'" in single
    assert single.count("'***'") == 4
    assert "'amy'" in bulk and "'joe'" in bulk
    assert "'***'" in bulk
    assert_no_secret_logged(logged)


async def test_filter_on_a_secret_column_is_masked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        await create_account()
        caplog.clear()
        assert await DebugAccount.objects.filter(password="hunter2").count() == 1
        assert await DebugAccount.objects.filter(username="bob", token="tok-456").exists()
        found = await DebugAccount.objects.get(api_key="ak-live-123")
        assert found.username == "bob"
        assert await DebugAccount.objects.filter(password__startswith="hunt").count() == 1
        assert await DebugAccount.objects.filter(secret__contains="secret").count() == 1
        counted = logs_of(caplog, 'SELECT COUNT(*) FROM "debug_accounts"')
        logged = query_logs(caplog)
    assert counted[0].endswith("params=['***']")
    assert len(logged) == 5
    assert "'bob'" in logged[1]
    assert all("'***'" in message for message in logged)
    assert_no_secret_logged(logged)


async def test_update_of_a_secret_column_is_masked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        account = await create_account()
        account.password = "hunter2"
        caplog.clear()
        await DebugAccount.objects.filter(username="bob").update(secret="the-secret")
        await account.save()
        update, save = logs_of(caplog, 'UPDATE "debug_accounts"')
        logged = query_logs(caplog)
    assert update.endswith("params=['***', 'bob']")
    assert "'bob'" in save
    assert_no_secret_logged(logged)


async def test_in_lookup_on_a_secret_column_masks_every_value(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        await create_account()
        caplog.clear()
        assert (
            await DebugAccount.objects.filter(password__in=["hunter2", "ak-live-123"]).count() == 1
        )
        logs_of(caplog, 'SELECT COUNT(*) FROM "debug_accounts"')
        logged = query_logs(caplog)
    assert_no_secret_logged(logged)


async def test_case_insensitive_lookup_on_a_secret_column_is_masked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        await create_account()
        caplog.clear()
        assert await DebugAccount.objects.filter(password__iexact="hunter2").count() == 1
        logs_of(caplog, 'SELECT COUNT(*) FROM "debug_accounts"')
        logged = query_logs(caplog)
    assert_no_secret_logged(logged)


async def test_bulk_update_of_a_secret_column_is_masked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        account = await DebugAccount.objects.create(username="bob", password="old")
        account.password = "hunter2"
        caplog.clear()
        await DebugAccount.objects.bulk_update([account], ["password"])
        logs_of(caplog, 'UPDATE "debug_accounts"')
        logged = query_logs(caplog)
        assert (await DebugAccount.objects.get(id=account.id)).password == "hunter2"
    assert_no_secret_logged(logged)


async def test_columns_that_are_not_secret_are_not_masked(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aksara.db")
    async with configured_database(database_url, LOG_QUERIES=True):
        user = await User.objects.create(name="Ann", email="ann@example.com")
        caplog.clear()
        await Post.objects.create(title="Hello", slug="hello", author=user, view_count=7)
        await Post.objects.filter(author=user).count()
        insert = logs_of(caplog, 'INSERT INTO "posts"')[0]
        count = logs_of(caplog, 'SELECT COUNT(*) FROM "posts"')[0]
    assert "'***'" not in insert  # author_id, title, ... are not secrets
    assert "'Hello'" in insert
    assert count.endswith(f"params=[{user.id}]")


def test_mask_params_without_a_database() -> None:
    sql = 'INSERT INTO "t" ("name", "password", "api_key") VALUES ($1, $2, $3)'
    assert mask_params(sql, ["a", "b", "c"]) == ["a", "***", "***"]
    sql = 'SELECT * FROM "t" WHERE "t"."name" = ? AND "t"."token" = ?'
    assert mask_params(sql, ["a", "b"]) == ["a", "***"]
    assert mask_params('SELECT * FROM "t" WHERE "t"."id" = $1', [5]) == [5]
    assert mask_params("SELECT 1", []) == []


# --- slow queries ------------------------------------------------------------------------


async def test_every_query_is_slow_at_zero_ms(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aksara.db.slow")
    async with configured_database(database_url, SLOW_QUERY_MS=0):
        caplog.clear()
        async with capture_queries() as queries:
            await User.objects.filter(name="slow").count()  # <slow-count>
            await Post.objects.count()  # <slow-posts>
        records = slow_logs(caplog)
    assert len(records) == 2
    lines = [marked_line(HERE, "slow-count"), marked_line(HERE, "slow-posts")]
    for record, query, line in zip(records, queries, lines, strict=True):
        assert record.levelno == logging.WARNING
        message = record.getMessage()
        assert re.match(r"Slow query \(\d+\.\d ms\) at ", message), message
        assert f" at {HERE}:{line} in test_every_query_is_slow_at_zero_ms: " in message
        assert message.endswith(f": {query.sql}")
    assert "'slow'" not in records[0].getMessage()  # parameters stay out of the warning


async def test_slow_query_handler_receives_a_slow_query(database_url: str) -> None:
    received: list[SlowQuery] = []
    async with configured_database(
        database_url, SLOW_QUERY_MS=0, SLOW_QUERY_HANDLER=received.append
    ) as database:
        received.clear()
        async with capture_queries() as queries:
            await User.objects.filter(name="handled").count()  # <handled>
            await DebugAccount.objects.filter(password="hunter2").count()
        handled = list(received)
    assert len(handled) == 2
    slow, secret = handled
    assert isinstance(slow, SlowQuery)
    assert slow.sql == queries[0].sql
    assert slow.params == ["handled"]
    assert isinstance(slow.duration, float)
    assert slow.duration == pytest.approx(queries[0].duration)
    assert slow.database == database.name
    assert slow.caller == (
        HERE,
        marked_line(HERE, "handled"),
        "test_slow_query_handler_receives_a_slow_query",
    )
    assert secret.params == ["***"]


async def test_slow_query_handler_as_a_dotted_path(database_url: str) -> None:
    path = f"{__name__}.record_slow_query"
    HANDLED.clear()
    async with configured_database(database_url, SLOW_QUERY_MS=0, SLOW_QUERY_HANDLER=path):
        HANDLED.clear()
        await User.objects.filter(name="dotted").count()  # <dotted>
        handled = list(HANDLED)
    HANDLED.clear()
    assert len(handled) == 1
    assert handled[0].params == ["dotted"]
    assert handled[0].caller is not None
    assert handled[0].caller[:2] == (HERE, marked_line(HERE, "dotted"))


async def test_a_failing_handler_does_not_break_the_query(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def broken(query: SlowQuery) -> None:
        calls.append(query.sql)
        raise RuntimeError("handler exploded")

    async with configured_database(database_url, SLOW_QUERY_MS=0, SLOW_QUERY_HANDLER=broken):
        calls.clear()
        caplog.clear()
        user = await User.objects.create(name="Still", email="still@example.com")
        assert await User.objects.filter(name="Still").count() == 1
        failures = [
            r for r in caplog.records if r.name == "aksara.db.slow" and r.levelno == logging.ERROR
        ]
        called = list(calls)
    assert user.id is not None
    assert len(called) == 2
    assert len(failures) == 2
    assert "SLOW_QUERY_HANDLER" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert "handler exploded" in str(failures[0].exc_info[1])


async def test_slow_query_ms_none_disables_alerts(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[SlowQuery] = []
    async with configured_database(
        database_url, SLOW_QUERY_MS=None, SLOW_QUERY_HANDLER=received.append
    ) as database:
        caplog.clear()
        await User.objects.count()
        await database.fetchval(slow_sql(database))
        assert slow_logs(caplog) == []
        assert received == []


def slow_sql(database: Database) -> str:
    """A statement that takes about 100 ms or more."""
    if database.name == "postgresql":
        return "SELECT pg_sleep(0.1)"
    return (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
        "SELECT count(*) FROM c"
    )


async def test_only_statements_over_the_threshold_are_reported(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[SlowQuery] = []
    async with configured_database(
        database_url, SLOW_QUERY_MS=50, SLOW_QUERY_HANDLER=received.append
    ) as database:
        received.clear()
        caplog.clear()
        await database.fetchval("SELECT 1")
        await database.fetchval(slow_sql(database))
        records = slow_logs(caplog)
        handled = list(received)
    assert [query.sql for query in handled] == [slow_sql(database)]
    assert handled[0].duration >= 50
    assert len(records) == 1
    assert slow_sql(database) in records[0].getMessage()
