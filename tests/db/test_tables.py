"""The tables a statement reads and writes, told from its SQL: exact for the ORM's quoted
SQL, conservative (``unknown``) for raw SQL it cannot vouch for."""

from __future__ import annotations

import pytest

from aksara.db.tables import statement_tables

ORM = [
    (
        'SELECT "t"."id", "t"."from" FROM "posts" AS "t" LEFT OUTER JOIN "users" AS "u" ON '
        '"u"."id" = "t"."author_id" WHERE "t"."id" IN (SELECT "c"."post_id" FROM "comments" "c")',
        {"posts", "users", "comments"},
        set(),
    ),
    ('SELECT COUNT(*) FROM (SELECT 1 FROM "a" WHERE x) AS "subquery"', {"a"}, set()),
    ('SELECT * FROM "a" FOR UPDATE', {"a"}, set()),
    ('INSERT INTO "a" ("x") VALUES ($1) RETURNING "id"', set(), {"a"}),
    ('INSERT INTO "a" ("x") SELECT value FROM json_each(?)', set(), {"a"}),
    ('INSERT INTO "a" ("x") VALUES (1) ON CONFLICT ("x") DO UPDATE SET "y" = 2', set(), {"a"}),
    ('UPDATE "a" SET "x" = v."c1" FROM (SELECT * FROM unnest($1::int[])) AS v', set(), {"a"}),
    ('DELETE FROM "a" WHERE "id" IN (SELECT "id" FROM "b")', {"b"}, {"a"}),
    ('SELECT 1 FROM "we""ird"', {'we"ird'}, set()),
]


@pytest.mark.parametrize(("sql", "reads", "writes"), ORM)
def test_the_orms_statements_are_told_exactly(sql: str, reads: set[str], writes: set[str]) -> None:
    told = statement_tables(sql)
    assert (told.reads, told.writes) == (reads, writes)
    assert not told.unknown and not told.unknown_write


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("insert into blog_post(a) values (1)", "blog_post"),
        ("UPDATE blog_post SET x = 1", "blog_post"),
        ("delete from blog_post where id = 3", "blog_post"),
        ("TRUNCATE TABLE blog_post", "blog_post"),
    ],
)
def test_simple_raw_writes_name_their_table(sql: str, table: str) -> None:
    told = statement_tables(sql)
    assert told.writes == {table} and not told.unknown_write


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM blog_post",
        'SELECT * FROM "a", "b"',
        'SELECT * FROM "a" x, "b"',
        'SELECT * FROM "public"."a"',
        "SELECT * FROM my_function(1)",
    ],
)
def test_raw_sources_that_cannot_be_told_are_unknown(sql: str) -> None:
    assert statement_tables(sql).unknown


@pytest.mark.parametrize(
    "sql",
    [
        'WITH q AS (DELETE FROM "a" RETURNING *) SELECT * FROM q',
        "WITH x AS (SELECT 1) UPDATE t SET a = 1",
        'SELECT * INTO copy FROM "a"',
        'DROP TABLE "x"',
        "TRUNCATE x.y",
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    ],
)
def test_writes_whose_tables_cannot_be_told_are_unknown(sql: str) -> None:
    assert statement_tables(sql).unknown_write


@pytest.mark.parametrize("sql", ["BEGIN", "COMMIT", "SAVEPOINT aksara_1", "SELECT 1", "SET x = 1"])
def test_control_and_tableless_statements_touch_nothing(sql: str) -> None:
    told = statement_tables(sql)
    assert not (told.reads or told.writes or told.unknown or told.unknown_write)
