"""What one test leaves behind never reaches the next: rows, used ids, dropped or extra
tables, tables of models defined inside a test, settings, an open default database.

The tests come in pairs run in file order: the first leaves a mess, the second checks that
the fixtures cleaned it up (on SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest

import aksara
import tests.schema
from aksara import IntegrityError, Model, fields
from aksara.conf import settings
from aksara.db import Database, get_database
from aksara.exceptions import DatabaseError
from aksara.orm.registry import registry
from examples.blog.models import Comment, Post, User
from tests.orm.relation_models import Article, Keyword
from tests.schema import prepare

LEFTOVER = "isolation_leftover"
GADGETS = "isolation_gadgets"


async def table_names(database: Database) -> set[str]:
    if database.name == "postgresql":
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return {row[0] for row in await database.fetch(sql)}


async def test_1_leaves_rows_and_spends_ids(db: Database) -> None:
    ada = await User.objects.create(name="Ada", email="ada@example.com")
    post = await Post.objects.create(title="t", slug="t", author=ada)
    await Comment.objects.create(post=post, author=ada, body="b")
    article = await Article.objects.create(title="a")
    await article.tags.add(await Keyword.objects.create(name="k"))
    gone = await User.objects.create(name="Gone", email="gone@example.com")
    await gone.delete()  # an id spent with no row left to show it
    with pytest.raises(IntegrityError):
        await User.objects.create(name="Twin", email="ada@example.com")


async def test_2_starts_empty_with_ids_from_one(db: Database) -> None:
    for model in registry.models():
        assert await model.objects.count() == 0, model._meta.table_name
    ada = await User.objects.create(name="Ada", email="ada@example.com")
    post = await Post.objects.create(title="t", slug="t", author=ada)
    article = await Article.objects.create(title="a")
    assert (ada.pk, post.pk, article.pk) == (1, 1, 1)


async def test_3_drops_a_table_and_leaves_a_scratch_table(db: Database) -> None:
    await aksara.drop_tables([Comment])
    await db.execute(f"CREATE TABLE {LEFTOVER} (id INTEGER PRIMARY KEY)")
    await db.execute(f"INSERT INTO {LEFTOVER} (id) VALUES (7)")


async def test_4_finds_the_schema_restored(db: Database) -> None:
    tables = await table_names(db)
    assert "comments" in tables
    assert LEFTOVER not in tables
    ada = await User.objects.create(name="Ada", email="ada@example.com")
    post = await Post.objects.create(title="t", slug="t", author=ada)
    assert (await Comment.objects.create(post=post, author=ada, body="b")).pk == 1


async def test_5_defines_a_model_and_makes_its_table(db: Database) -> None:
    class IsolationGadget(Model):
        name = fields.String(max_length=20)

        class Meta:
            table_name = GADGETS

    try:
        await aksara.create_tables([IsolationGadget])
        await IsolationGadget.objects.create(name="first")
    finally:
        registry.unregister(IsolationGadget)


async def test_6_a_model_of_the_same_table_gets_its_own_columns(db: Database) -> None:
    assert GADGETS not in await table_names(db)

    class IsolationGadget(Model):
        size = fields.Integer()

        class Meta:
            table_name = GADGETS

    try:
        await aksara.create_tables([IsolationGadget])
        gadget = await IsolationGadget.objects.create(size=3)
        assert gadget.pk == 1
        assert await IsolationGadget.objects.values_list("size", flat=True) == [3]
    finally:
        registry.unregister(IsolationGadget)


def test_7_configures_and_never_resets() -> None:
    aksara.configure(RELATION_LOADING="raise", N_PLUS_ONE_THRESHOLD=2)


def test_8_sees_the_default_settings() -> None:
    assert settings.RELATION_LOADING == "lazy"
    assert settings.N_PLUS_ONE_THRESHOLD == 5


async def test_9_leaves_the_default_database_open(database_url: str) -> None:
    await aksara.connect(database_url)
    assert get_database().is_open


async def test_10_finds_no_default_database_open() -> None:
    database = get_database()
    assert not database.is_open
    assert database.url == settings.DATABASE_URL


async def test_11_rows_pointing_at_each_other_are_emptied(db: Database) -> None:
    class IsolationNode(Model):
        parent = fields.ForeignKey("self", on_delete=fields.RESTRICT, null=True)

    try:
        await prepare(db)  # its table appears
        root = await IsolationNode.objects.create()
        await IsolationNode.objects.create(parent=root)
        await prepare(db)
        assert await IsolationNode.objects.count() == 0
        assert (await IsolationNode.objects.create()).pk == 1
    finally:
        registry.unregister(IsolationNode)


async def test_12_fresh_db_is_a_database_of_the_test_s_own(
    fresh_db: Database, shared_sqlite_url: str
) -> None:
    assert fresh_db.url != shared_sqlite_url
    expected = {model._meta.table_name for model in registry.models()}
    assert expected <= await table_names(fresh_db)
    assert (await User.objects.create(name="Ada", email="ada@example.com")).pk == 1


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_13_a_transaction_left_open_fails_the_emptying_clearly(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: SQLite would wait its busy_timeout (10 s) for the same lock."""
    monkeypatch.setattr(tests.schema, "LOCK_TIMEOUT", "200ms")
    await User.objects.create(name="Ada", email="ada@example.com")
    forgotten = Database(db.url, db.pool_options)
    try:
        async with forgotten.connection():
            await forgotten.execute("BEGIN")
            await forgotten.execute("UPDATE users SET name = 'Grace'")
            with pytest.raises(DatabaseError, match="holds a transaction on them"):
                await prepare(db)
            await forgotten.execute("ROLLBACK")
    finally:
        await forgotten.close()
