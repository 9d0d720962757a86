"""Schema management: idempotent create/drop, table and index names, constraints."""

from __future__ import annotations

import pytest

import aksara
from aksara.db import Database
from aksara.db.dialects import PostgresDialect, SQLiteDialect
from aksara.orm import schema_sql
from aksara.orm.options import table_name_for
from examples.blog.models import Comment, Post, User
from tests.models import Category, Kitchen, Label, Tag

ALL_TABLES = {
    *("users", "posts", "comments", "tags", "posts_tags"),
    *("kitchens", "categories", "category_tags", "custom_labels"),
}


async def tables(db: Database) -> set[str]:
    if db.dialect.name == "postgresql":
        rows = await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    else:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row[0] for row in rows}


async def indexes(db: Database) -> dict[str, str]:
    """Index name -> its definition."""
    if db.dialect.name == "postgresql":
        rows = await db.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
        )
    else:
        rows = await db.fetch(
            "SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'index'"
        )
    return {row[0]: row[1] for row in rows}


async def test_tables_have_snake_case_plural_names(db: Database) -> None:
    assert await tables(db) >= ALL_TABLES
    assert User._meta.table_name == "users"
    assert Post._meta.table_name == "posts"
    assert Kitchen._meta.table_name == "kitchens"
    assert Category._meta.table_name == "categories"
    assert Label._meta.table_name == "custom_labels"


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("Post", "posts"),
        ("Category", "categories"),
        ("Day", "days"),
        ("Box", "boxes"),
        ("Address", "addresses"),
        ("Match", "matches"),
        ("BlogCategory", "blog_categories"),
        ("HTTPRequest", "http_requests"),
    ],
)
def test_table_name_for(name: str, table: str) -> None:
    assert table_name_for(name) == table


async def test_create_tables_twice_is_fine(db: Database) -> None:
    await User.objects.create(name="a", email="a@example.com")
    await aksara.create_tables()
    await aksara.create_tables()
    assert await tables(db) >= ALL_TABLES
    assert await User.objects.count() == 1, "create_tables leaves existing tables and rows alone"


async def test_drop_tables_twice_is_fine(db: Database) -> None:
    await aksara.drop_tables()
    assert not (ALL_TABLES & await tables(db))
    await aksara.drop_tables()
    await aksara.create_tables()
    assert await tables(db) >= ALL_TABLES
    assert await User.objects.count() == 0


async def test_create_and_drop_a_subset(db: Database) -> None:
    await aksara.drop_tables([Comment])
    assert "comments" not in await tables(db)
    assert "posts" in await tables(db)
    await aksara.create_tables([Comment])
    assert "comments" in await tables(db)


async def test_indexes_exist(db: Database) -> None:
    found = await indexes(db)
    for name in (
        "posts_author_id_idx",
        "posts_slug_idx",
        "posts_created_at_idx",
        "posts_author_id_created_at_idx",
        "posts_is_published_idx",
        "comments_post_id_idx",
        "comments_author_id_idx",
        "categories_parent_id_idx",
        "category_tags_category_id_idx",
        "custom_labels_tag_id_idx",
    ):
        assert name in found, name
    composite = found["posts_author_id_created_at_idx"]
    assert composite.index("author_id") < composite.index("created_at")
    partial = found["posts_is_published_idx"]
    assert "WHERE" in partial.upper() and "is_published" in partial.split("WHERE")[-1]
    assert "WHERE" not in found["posts_author_id_idx"].upper()
    # unique fields get a unique constraint, not an extra plain index
    assert "users_email_idx" not in found


async def test_constraints_are_enforced_by_the_database(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    with pytest.raises(aksara.IntegrityError) as error:
        await db.execute(
            "INSERT INTO users (name, email, is_active, created_at) VALUES ('b', 'a@example.com', true, '2024-01-01 00:00:00')"
        )
    assert error.value.constraint == "users_email_key"
    with pytest.raises(aksara.IntegrityError) as error:
        await db.execute(
            "INSERT INTO posts (title, slug, content, metadata, author_id, is_published, view_count, created_at) "
            f"VALUES ('t', 's', '', '{{}}', {user.pk + 100}, false, 0, '2024-01-01 00:00:00')"
        )
    if db.dialect.name == "postgresql":  # SQLite does not name the key; the ORM works it out
        assert error.value.constraint == "posts_author_id_fkey"
    with pytest.raises(aksara.IntegrityError):
        await db.execute(
            "INSERT INTO users (name, email, is_active, created_at) VALUES (NULL, 'c@example.com', true, '2024-01-01 00:00:00')"
        )
    assert await User.objects.count() == 1


async def test_string_length_is_enforced_by_the_database(db: Database) -> None:
    # max_length holds even for SQL that bypasses the ORM, with the same error class on
    # both databases (SQLite through a CHECK constraint, PostgreSQL through VARCHAR(n)).
    user = await User.objects.create(name="a", email="a@example.com")
    post = await Post.objects.create(title="t" * 200, slug="s", author=user)
    with pytest.raises(aksara.IntegrityError) as error:
        await db.execute("UPDATE posts SET title = title || 'x'")
    assert isinstance(error.value, aksara.DatabaseError)
    assert await Post.objects.filter(pk=post.pk).values_list("title", flat=True) == ["t" * 200]


@pytest.mark.parametrize(
    "dialect", [PostgresDialect(), SQLiteDialect()], ids=["postgresql", "sqlite"]
)
def test_schema_sql_without_a_database(dialect: PostgresDialect | SQLiteDialect) -> None:
    statements = schema_sql([User, Post, Comment], dialect=dialect)
    tables_in_order = [s.split('"')[1] for s in statements if s.startswith("CREATE TABLE")]
    assert tables_in_order == ["users", "posts", "comments"]
    posts = next(s for s in statements if s.startswith('CREATE TABLE IF NOT EXISTS "posts"'))
    assert (
        'CONSTRAINT "posts_author_id_fkey" FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON DELETE CASCADE'
        in posts
    )
    if dialect.name == "postgresql":
        assert '"title" VARCHAR(200) NOT NULL' in posts
    else:  # STRICT tables know TEXT only; the length is a CHECK constraint
        assert '"title" TEXT NOT NULL' in posts
        assert 'CHECK (length("title") <= 200)' in posts
    users = next(s for s in statements if s.startswith('CREATE TABLE IF NOT EXISTS "users"'))
    assert 'CONSTRAINT "users_email_key" UNIQUE ("email")' in users
    partial = next(s for s in statements if '"posts_is_published_idx"' in s)
    assert partial.endswith("WHERE is_published = true")
    # Model order given backwards still creates targets first.
    backwards = schema_sql([Comment, Post, User], dialect=dialect)
    assert [s.split('"')[1] for s in backwards if s.startswith("CREATE TABLE")] == [
        "users",
        "posts",
        "comments",
    ]


def test_protect_and_restrict_are_restrict_in_the_schema() -> None:
    statements = schema_sql([Category, Tag, Label], dialect=PostgresDialect())
    text = "\n".join(statements)
    assert 'REFERENCES "categories" ("id") ON DELETE RESTRICT' in text
    assert 'REFERENCES "category_tags" ("id") ON DELETE RESTRICT' in text
    assert 'REFERENCES "categories" ("id") ON DELETE SET NULL' in text
