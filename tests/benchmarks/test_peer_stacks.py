"""The HTTP benchmark's peer stacks, served for real: every endpoint of the contract answers
what the database holds, and the three stacks answer the same JSON.

Each stack (FastAPI + SQLAlchemy, FastAPI + Tortoise, Django + DRF) runs in its own uvicorn
process (one worker, uvloop, httptools) on 127.0.0.1, over a PostgreSQL database of this
module's own (seeded by ``benchmarks.bench_http.seed`` plus comments and TechEmpower's
tables), dropped at the end. PostgreSQL only: the benchmark is about PostgreSQL stacks.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from tests.conftest import ADMIN_URL, IN_CI

REPO = Path(__file__).resolve().parents[2]
STACKS = ("fastapi_sqlalchemy", "fastapi_tortoise", "django_drf")
DATABASE_NAME = f"aksara_peer_stacks_{os.getpid()}"
READY_SECONDS = 30.0
JSON_HEADERS = {"Content-Type": "application/json"}
ADDITIONAL_FORTUNE = "Additional fortune added at request time."
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
]
TECHEMPOWER_SQL = """
CREATE TABLE IF NOT EXISTS world (id integer PRIMARY KEY, randomnumber integer NOT NULL);
CREATE TABLE IF NOT EXISTS fortune (id integer PRIMARY KEY, message varchar(2048) NOT NULL);
INSERT INTO world (id, randomnumber)
    SELECT n, 1 + (n * 7919) % 10000 FROM generate_series(1, 10000) n ON CONFLICT DO NOTHING;
"""
# Uneven comment counts (0 to a dozen a post) so that a wrong COUNT shows.
COMMENTS_SQL = """
INSERT INTO comments (post_id, author_id, body, created_at)
    SELECT 1 + (n * n) % 10000, 1 + n % 1000, 'comment ' || n, now()
    FROM generate_series(1, 20000) n
"""
SEED = "import asyncio, sys; from benchmarks import bench_http; asyncio.run(bench_http.seed(sys.argv[1]))"


def _run(coroutine: Any) -> Any:
    """Run *coroutine* on a loop of its own (the tests are synchronous; so is a server)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _fill(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(COMMENTS_SQL)
        await connection.execute(TECHEMPOWER_SQL)
        await connection.executemany(
            "INSERT INTO fortune (id, message) VALUES ($1, $2) ON CONFLICT DO NOTHING", FORTUNES
        )
    finally:
        await connection.close()


async def _fetch(url: str, query: str, *arguments: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *arguments)
        return rows
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """The URL of an empty database of this module's own, dropped afterwards (``servers``
    seeds it while the servers start)."""
    try:
        _run(_admin(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)'))
        _run(_admin(f'CREATE DATABASE "{DATABASE_NAME}"'))
    except (OSError, asyncpg.PostgresError) as error:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {ADMIN_URL} is unreachable: {error} (CI requires it)")
        pytest.skip(f"PostgreSQL at {ADMIN_URL} is unreachable: {error}")
    try:
        yield urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{DATABASE_NAME}", query=""))
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)'))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def servers(database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Each stack served by uvicorn on a free port (its base URL by stack name), over the
    seeded database; seeding runs while the servers start."""
    logs = tmp_path_factory.mktemp("peer-stacks")
    seeding = subprocess.Popen([sys.executable, "-c", SEED, database], cwd=REPO)
    environment = {**os.environ, "BENCH_HTTP_DATABASE_URL": database, "BENCH_HTTP_POOL_SIZE": "4"}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
    )
    processes: dict[str, tuple[subprocess.Popen[bytes], Path, str]] = {}
    try:
        for stack in STACKS:
            port = _free_port()
            log = logs / f"{stack}.log"
            command = [
                *(sys.executable, "-m", "uvicorn", "--factory"),
                f"benchmarks.http.stacks.{stack}:app",
                *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
                *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
            ]
            with log.open("wb") as output:
                process = subprocess.Popen(
                    command, cwd=REPO, env=environment, stdout=output, stderr=subprocess.STDOUT
                )
            processes[stack] = (process, log, f"http://127.0.0.1:{port}")
        assert seeding.wait(60) == 0
        _run(_fill(database))
        deadline = time.monotonic() + READY_SECONDS
        for stack, (process, log, base) in processes.items():
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"{stack} exited:\n{log.read_text()}")
                try:
                    if httpx.get(f"{base}/json", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{stack} did not answer:\n{log.read_text()}")
                time.sleep(0.1)
        yield {stack: base for stack, (_, _, base) in processes.items()}
    finally:
        for process in [seeding, *(process for process, _, _ in processes.values())]:
            _stop(process)


def _moment(text: str) -> dt.datetime:
    """A rendered timestamp as a datetime: stacks may spell UTC ``Z`` or ``+00:00``."""
    return dt.datetime.fromisoformat(text)


def _normal(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their ``created_at`` parsed, key order kept as a list of keys."""
    return [{**row, "created_at": _moment(row["created_at"]), "_keys": list(row)} for row in rows]


@pytest.mark.parametrize("stack", STACKS)
def test_the_list_page_is_the_third_page_of_published_posts(
    stack: str, servers: dict[str, str], database: str
) -> None:
    response = httpx.get(f"{servers[stack]}/api/posts/", params={"page": 3})
    expected = _run(
        _fetch(
            database,
            "SELECT p.id, p.title, p.slug, u.name AS author_name,"
            " (SELECT count(*) FROM comments c WHERE c.post_id = p.id) AS comment_count,"
            " p.created_at FROM posts p JOIN users u ON u.id = p.author_id"
            " WHERE p.is_published ORDER BY p.created_at DESC, p.id DESC OFFSET 40 LIMIT 20",
        )
    )
    total = _run(_fetch(database, "SELECT count(*) FROM posts WHERE is_published"))[0][0]
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == total
    assert body["next"] == f"{servers[stack]}/api/posts/?page=4"
    assert body["previous"] == f"{servers[stack]}/api/posts/?page=2"
    keys = ["id", "title", "slug", "author_name", "comment_count", "created_at"]
    assert _normal(body["results"]) == [{**dict(row), "_keys": keys} for row in expected]
    assert len({row["comment_count"] for row in body["results"]}) > 1
    second = httpx.get(f"{servers[stack]}/api/posts/", params={"page": 2}).json()
    assert second["previous"] == f"{servers[stack]}/api/posts/"
    assert httpx.get(f"{servers[stack]}/api/posts/", params={"page": 10_000}).status_code == 404


@pytest.mark.parametrize("stack", STACKS)
def test_the_detail_by_slug_nests_its_author_and_404s_unknown_slugs(
    stack: str, servers: dict[str, str], database: str
) -> None:
    for row in _run(
        _fetch(
            database,
            "SELECT p.id, p.title, p.slug, p.content, p.author_id, u.name, p.is_published,"
            " p.view_count, p.created_at FROM posts p JOIN users u ON u.id = p.author_id"
            " WHERE p.id IN (1, 4321, 10000) ORDER BY p.id",
        )
    ):
        response = httpx.get(f"{servers[stack]}/api/posts/{row['slug']}/")
        assert response.status_code == 200
        body = response.json()
        assert list(body) == [
            *("id", "title", "slug", "content", "author"),
            *("is_published", "view_count", "created_at"),
        ]
        assert body == {
            "id": row["id"],
            "title": row["title"],
            "slug": row["slug"],
            "content": row["content"],
            "author": {"id": row["author_id"], "name": row["name"]},
            "is_published": row["is_published"],
            "view_count": row["view_count"],
            "created_at": body["created_at"],
        }
        assert _moment(body["created_at"]) == row["created_at"]
    missing = httpx.get(f"{servers[stack]}/api/posts/no-such-post/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found."}


@pytest.mark.parametrize("stack", STACKS)
def test_the_feed_pages_a_hundred_posts_behind_a_cursor(
    stack: str, servers: dict[str, str], database: str
) -> None:
    expected = _run(
        _fetch(
            database,
            "SELECT id, title, slug, author_id, is_published, view_count, created_at FROM posts"
            " ORDER BY created_at DESC, id DESC LIMIT 200",
        )
    )
    keys = ["id", "title", "slug", "author_id", "is_published", "view_count", "created_at"]
    rows = [{**dict(row), "_keys": keys} for row in expected]
    first = httpx.get(f"{servers[stack]}/api/feed/").json()
    assert list(first) == ["next", "previous", "results"]
    assert first["previous"] is None
    assert _normal(first["results"]) == rows[:100]
    assert first["next"].startswith(f"{servers[stack]}/api/feed/?cursor=")
    following = httpx.get(first["next"]).json()
    assert _normal(following["results"]) == rows[100:]


@pytest.mark.parametrize("stack", STACKS)
def test_create_validates_and_answers_201_with_the_new_post(
    stack: str, servers: dict[str, str], database: str
) -> None:
    slug = f"made-by-{stack.replace('_', '-')}"
    new = {"title": "Made", "slug": slug, "content": "Body", "author": 7, "is_published": False}
    response = httpx.post(f"{servers[stack]}/api/posts/", json=new)
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == [
        *("id", "title", "slug", "content", "author"),
        *("is_published", "view_count", "created_at"),
    ]
    stored = _run(_fetch(database, "SELECT * FROM posts WHERE slug = $1", slug))
    assert len(stored) == 1
    assert body == {
        "id": stored[0]["id"],
        **{key: new[key] for key in ("title", "slug", "content", "author", "is_published")},
        "view_count": 0,
        "created_at": body["created_at"],
    }
    assert _moment(body["created_at"]) == stored[0]["created_at"]
    invalid = {"title": "", "slug": "Not A Slug", "author": 7, "is_published": False}
    rejected = httpx.post(f"{servers[stack]}/api/posts/", json=invalid)
    assert rejected.status_code == 400
    assert set(rejected.json()) == {"title", "slug"}
    long = {**new, "title": "x" * 201, "slug": "s" * 101}
    assert set(httpx.post(f"{servers[stack]}/api/posts/", json=long).json()) == {"title", "slug"}
    orphan = httpx.post(f"{servers[stack]}/api/posts/", json={**new, "author": 99_999})
    assert orphan.status_code == 400
    assert set(orphan.json()) == {"author"}
    # Every field in error is named at once, the unknown author too.
    wrong = httpx.post(f"{servers[stack]}/api/posts/", json={**invalid, "author": 99_999})
    assert set(wrong.json()) == {"title", "slug", "author"}
    for payload in ([1], {**new, "author": True}):
        refused = httpx.post(f"{servers[stack]}/api/posts/", json=payload)
        assert refused.status_code == 400
        assert set(refused.json()) in ({"non_field_errors"}, {"author"})
    garbled = httpx.post(f"{servers[stack]}/api/posts/", content=b"{", headers=JSON_HEADERS)
    assert garbled.status_code == 400
    assert garbled.json()["detail"].startswith("JSON parse error")
    count = _run(_fetch(database, "SELECT count(*) FROM posts WHERE slug = $1", slug))[0][0]
    assert count == 1


async def _worlds(url: str, ids: list[int]) -> dict[int, int]:
    rows = await _fetch(url, "SELECT id, randomnumber FROM world WHERE id = ANY($1)", ids)
    return {row["id"]: row["randomnumber"] for row in rows}


@pytest.mark.parametrize("stack", STACKS)
def test_techempower_json_db_and_queries(
    stack: str, servers: dict[str, str], database: str
) -> None:
    base = servers[stack]
    assert httpx.get(f"{base}/json").json() == {"message": "Hello, World!"}
    single = httpx.get(f"{base}/db").json()
    assert list(single) == ["id", "randomNumber"]
    assert _run(_worlds(database, [single["id"]])) == {single["id"]: single["randomNumber"]}
    for raw, size in (("20", 20), ("0", 1), ("x", 1), ("501", 500), (None, 1)):
        params = {"queries": raw} if raw is not None else {}
        rows = httpx.get(f"{base}/queries", params=params).json()
        assert len(rows) == size
        stored = _run(_worlds(database, [row["id"] for row in rows]))
        assert all(stored[row["id"]] == row["randomNumber"] for row in rows)


@pytest.mark.parametrize("stack", STACKS)
def test_techempower_fortunes_sorted_and_escaped(stack: str, servers: dict[str, str]) -> None:
    response = httpx.get(f"{servers[stack]}/fortunes")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<script>" not in response.text
    cells = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", response.text)
    rendered = [(int(number), html.unescape(message)) for number, message in cells]
    assert rendered == sorted([*FORTUNES, (0, ADDITIONAL_FORTUNE)], key=lambda row: row[1])


@pytest.mark.parametrize("stack", STACKS)
def test_techempower_updates_write_what_they_return(
    stack: str, servers: dict[str, str], database: str
) -> None:
    rows = httpx.get(f"{servers[stack]}/updates", params={"queries": 20}).json()
    assert len(rows) == 20
    assert len({row["id"] for row in rows}) == 20
    assert all(1 <= row["randomNumber"] <= 10_000 for row in rows)
    stored = _run(_worlds(database, [row["id"] for row in rows]))
    assert stored == {row["id"]: row["randomNumber"] for row in rows}


def test_the_stacks_answer_the_same_json(servers: dict[str, str], database: str) -> None:
    slug = _run(_fetch(database, "SELECT slug FROM posts WHERE id = 2024"))[0][0]
    for path in ("/api/posts/?page=3", f"/api/posts/{slug}/", "/api/feed/", "/json"):
        bodies = [httpx.get(f"{base}{path}").json() for base in servers.values()]
        for body in bodies:
            for key in ("next", "previous"):
                if isinstance(body.get(key), str):  # host:port and cursor are each stack's
                    body[key] = urlsplit(body[key]).path
        assert all(body == bodies[0] for body in bodies[1:]), path
