"""The data every stack of the peer HTTP benchmark serves, made and seeded by the harness.

- the blog tables of ``examples.blog.models`` (``users``, ``posts``, ``comments``, ...),
  seeded from ``benchmarks.data``: 1,000 users, 10,000 posts, 50,000 comments;
- TechEmpower's tables: ``world`` (10,000 rows, ids 1..10000, ``randomnumber`` 1..10000)
  and ``fortune`` (their 12 standard fortunes).

The world rows come from a seeded generator, so two runs serve the same data.
"""

from __future__ import annotations

import random

import asyncpg

import aksara
import examples.blog.models  # noqa: F401 - registers the blog's tables
from benchmarks import bench_orm, data

__all__ = [
    "FORTUNES",
    "TECHEMPOWER_DDL",
    "WORLD_ROWS",
    "reset_posts",
    "seed",
    "seed_blog",
    "seed_techempower",
]

WORLD_ROWS = 10_000

TECHEMPOWER_DDL = (
    "DROP TABLE IF EXISTS world",
    "DROP TABLE IF EXISTS fortune",
    "CREATE TABLE world (id integer PRIMARY KEY, randomnumber integer NOT NULL)",
    "CREATE TABLE fortune (id integer PRIMARY KEY, message varchar(2048) NOT NULL)",
)

#: TechEmpower's standard fortunes (ids 1..12), markup and non-ASCII text included.
FORTUNES = (
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (
        11,
        '<script>alert("This should not be displayed in a browser alert box.");</script>',
    ),
    (12, "\u30d5\u30ec\u30fc\u30e0\u30ef\u30fc\u30af\u306e\u30d9\u30f3\u30c1\u30de\u30fc\u30af"),
)


async def seed_blog(database_url: str, *, comments: int = data.N_COMMENTS) -> list[str]:
    """Drop, make and seed the blog tables at *database_url*; return the posts' slugs."""
    dataset = data.generate(comments=comments)
    async with aksara.connect(database_url):
        await aksara.drop_tables()
        await aksara.create_tables()
    connection = await asyncpg.connect(database_url)
    try:
        await bench_orm._pg_init(connection)  # Aksara's codecs: JSON values as objects
        await bench_orm._seed_postgres(connection, dataset)
    finally:
        await connection.close()
    return [post[2] for post in dataset.posts]


async def seed_techempower(connection: asyncpg.Connection, seed: int = data.SEED) -> None:
    """Drop, make and fill ``world`` and ``fortune`` on *connection*."""
    for statement in TECHEMPOWER_DDL:
        await connection.execute(statement)
    rng = random.Random(seed)
    worlds = [(number, rng.randint(1, WORLD_ROWS)) for number in range(1, WORLD_ROWS + 1)]
    await connection.copy_records_to_table("world", records=worlds, columns=("id", "randomnumber"))
    await connection.copy_records_to_table("fortune", records=FORTUNES, columns=("id", "message"))
    await connection.execute("VACUUM ANALYZE world, fortune")


async def seed(database_url: str) -> list[str]:
    """Create the database when missing, seed every table; return the posts' slugs."""
    await bench_orm._ensure_pg_database(database_url)
    slugs = await seed_blog(database_url)
    connection = await asyncpg.connect(database_url)
    try:
        await seed_techempower(connection)
    finally:
        await connection.close()
    return slugs


async def reset_posts(connection: asyncpg.Connection) -> int:
    """Delete the posts a create endpoint added past the seed; return how many. The id
    sequence goes back to the highest id left (a request still finishing may add one)."""
    status = await connection.execute("DELETE FROM posts WHERE id > $1", data.N_POSTS)
    await connection.execute(
        "SELECT setval(pg_get_serial_sequence('posts', 'id'),"
        " GREATEST((SELECT MAX(id) FROM posts), $1))",
        data.N_POSTS,
    )
    return int(status.split()[-1])
