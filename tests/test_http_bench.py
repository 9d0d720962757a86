"""The peer HTTP benchmark compares like with like: the floor and the Aksara stack, each
served by uvicorn, answer every endpoint with the same data (the harness's own check)."""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from benchmarks import bench_http
from benchmarks.http import checks, harness, schema
from benchmarks.http.endpoints import ENDPOINTS

ADMIN_URL = os.environ.get("AKSARA_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
DATABASE = f"aksara_bench_http_{os.getpid()}"
URL = urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{DATABASE}", query=""))


async def _drop_database() -> None:
    admin = await asyncpg.connect(urlunsplit(urlsplit(URL)._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}"')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[dict[str, str], list[str]]]:
    """The floor and Aksara served on free ports over a freshly seeded database."""
    slugs = asyncio.run(schema.seed(URL))
    arguments = argparse.Namespace(pg_url=URL, pool_size=2, stacks=["floor", "aksara"])
    with tempfile.TemporaryDirectory() as scratch:
        stacks = harness.start_stacks(arguments, Path(scratch))
        try:
            assert [stack.skipped for stack in stacks] == [None, None]
            yield {stack.name: stack.server.base for stack in stacks if stack.server}, slugs
        finally:
            for stack in stacks:
                if stack.server is not None:
                    bench_http.stop(stack.server)
            asyncio.run(_drop_database())


@pytest.mark.parametrize("endpoint", [endpoint.name for endpoint in ENDPOINTS])
def test_floor_and_aksara_answer_alike(
    served: tuple[dict[str, str], list[str]], endpoint: str
) -> None:
    bases, slugs = served
    checks.check_endpoint(endpoint, bases, [slugs[0], slugs[4_321], slugs[-1]])


def test_the_check_sees_a_difference(
    served: tuple[dict[str, str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bases, slugs = served
    fetch = checks.fetch

    def drifted(base: str, method: str, path: str, body: object = None) -> tuple[int, str, bytes]:
        status, content_type, answer = fetch(base, method, path, body)
        if base == bases["aksara"]:
            answer = answer.replace(b'"view_count":', b'"views":', 1)
        return status, content_type, answer

    monkeypatch.setattr(checks, "fetch", drifted)
    with pytest.raises(checks.MismatchError, match="aksara answers detail differently"):
        checks.check_endpoint("detail", bases, slugs[:1])


def test_created_posts_are_removed(served: tuple[dict[str, str], list[str]]) -> None:
    bases, _ = served
    checks.check_endpoint("create", bases, [])

    async def count_after_reset() -> tuple[int, int]:
        connection = await asyncpg.connect(URL)
        try:
            before = await connection.fetchval("SELECT COUNT(*) FROM posts")
            await harness.reset(URL)
            return before, await connection.fetchval("SELECT COUNT(*) FROM posts")
        finally:
            await connection.close()

    before, after = asyncio.run(count_after_reset())
    assert before > after == 10_000
