"""profile_queries: the report of a function's (or a block's) queries, on stderr and on the
``aksara.debug`` logger."""

from __future__ import annotations

import io
import logging
import re

import pytest

from aksara.db import Database
from aksara.debug import QueryProfile, capture_queries, profile_queries
from examples.blog.models import Post, User
from examples.blog.seed import seed

SECONDS = r"\d+\.\d+s"


def parse_report(report: str) -> tuple[str, int, float, list[tuple[str, float]]]:
    """(name, count, total seconds, [(sql, seconds)]) of a report; fails on a bad format."""
    lines = report.rstrip("\n").split("\n")
    head = re.fullmatch(r"Query Profile: (.+)", lines[0])
    count = re.fullmatch(r"Total queries: (\d+)", lines[1])
    total = re.fullmatch(rf"Total time: ({SECONDS})", lines[2])
    assert head and count and total, report
    assert lines[3] == "Queries:", report
    queries = []
    for number, line in enumerate(lines[4:], start=1):
        match = re.fullmatch(rf"{number}\. (.+) \(({SECONDS})\)", line)
        assert match, f"bad query line {line!r} in:\n{report}"
        queries.append((match.group(1), float(match.group(2)[:-1])))
    assert len(queries) == int(count.group(1)), report
    return head.group(1), int(count.group(1)), float(total.group(1)[:-1]), queries


def debug_reports(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "aksara.debug" and record.levelno == logging.INFO
    ]


async def test_decorator_prints_the_report_to_stderr_and_logs_it(
    db: Database, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aksara.debug")
    await seed(users=2, posts=3, comments=0)

    @profile_queries
    async def get_posts(published: bool) -> list[Post]:
        await Post.objects.filter(is_published=published).count()
        return await Post.objects.select_related("author").all()

    async with capture_queries() as queries:
        posts = await get_posts(True)
    assert len(posts) == 3  # the return value passes through
    assert all(post.author.name.startswith("User ") for post in posts)
    assert get_posts.__name__ == "get_posts"

    err = capsys.readouterr().err
    name, count, total, listed = parse_report(err)
    assert name == get_posts.__qualname__
    assert name.endswith("<locals>.get_posts")
    assert count == 2
    assert listed[0][0] == queries[0].sql
    assert listed[0][0].startswith('SELECT COUNT(*) FROM "posts"')
    assert listed[1][0].startswith('SELECT "posts"."id"')  # long SQL may be shortened
    assert 'INNER JOIN "users"' in queries[1].sql
    for (_, seconds), query in zip(listed, queries, strict=True):
        assert seconds == pytest.approx(query.duration / 1000, abs=0.001)
    assert total == pytest.approx(sum(seconds for _, seconds in listed), abs=0.002)
    assert total > 0

    assert debug_reports(caplog) == [err.rstrip("\n")]


async def test_block_form_reports_with_its_name(
    db: Database, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aksara.debug")
    async with profile_queries("dashboard") as profile:
        await User.objects.count()
        await Post.objects.count()
        await User.objects.filter(name="x").exists()
        assert capsys.readouterr().err == ""  # reported when the block ends
    assert isinstance(profile, QueryProfile)
    assert len(profile.queries) == 3

    name, count, _, listed = parse_report(capsys.readouterr().err)
    assert name == "dashboard"
    assert count == 3
    assert [sql for sql, _ in listed[:2]] == [
        'SELECT COUNT(*) FROM "users"',
        'SELECT COUNT(*) FROM "posts"',
    ]
    assert len(debug_reports(caplog)) == 1
    assert debug_reports(caplog)[0].startswith("Query Profile: dashboard\nTotal queries: 3\n")


async def test_named_decorator_with_no_stream_only_logs(
    db: Database, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aksara.debug")

    @profile_queries("quiet", stream=None)
    async def count_users() -> int:
        return await User.objects.count()

    assert await count_users() == 0
    assert await count_users() == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == ""
    reports = debug_reports(caplog)
    assert len(reports) == 2  # one report per call, each with that call's queries only
    for report in reports:
        name, count, _, listed = parse_report(report)
        assert name == "quiet"
        assert count == 1
        assert listed[0][0] == 'SELECT COUNT(*) FROM "users"'


async def test_report_goes_to_a_given_stream(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    stream = io.StringIO()
    async with profile_queries("to stream", stream=stream):
        await User.objects.count()
    assert capsys.readouterr().err == ""
    name, count, _, _ = parse_report(stream.getvalue())
    assert (name, count) == ("to stream", 1)


async def test_no_queries_gives_an_empty_report(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    @profile_queries()
    async def nothing() -> str:
        return "done"

    assert await nothing() == "done"
    name, count, total, listed = parse_report(capsys.readouterr().err)
    assert name == nothing.__qualname__
    assert (count, total, listed) == (0, 0.0, [])


async def test_report_is_written_when_the_function_raises(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    @profile_queries
    async def failing() -> None:
        await User.objects.count()
        raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        await failing()
    _, count, _, _ = parse_report(capsys.readouterr().err)
    assert count == 1
