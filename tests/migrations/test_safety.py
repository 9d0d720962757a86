"""Data steps in a revision's transaction, failed revisions rolled back, renames asked about,
indexes built concurrently, SQL shown without a database, on SQLite and PostgreSQL."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

import aksara
from aksara import migrations
from aksara.migrations.project import script_directory
from tests.migrations.helpers import catalogue
from tests.migrations.models import version_one

DATA_STEP = '''
"""{message}"""

import sqlalchemy as sa
from alembic import op

from aksara.migrations import run_data
from aksara.migrations import types as aksara_types
from aksara.orm.registry import registry

revision = "{revision}"
down_revision = "{parent}"
branch_labels = None
depends_on = None


async def fill(ctx):
    author = next(m for m in registry.models() if m._meta.table_name == "mt_authors")
    await ctx.execute("UPDATE mt_authors SET nick = name")
    # The ORM's queries run on the revision's connection too.
    await author.objects.filter(name="Ann").update(name="Anne")
    if {fail}:
        raise RuntimeError("the data step failed")


def upgrade():
    with op.batch_alter_table("mt_authors") as batch:
        batch.add_column(
            sa.Column("nick", aksara_types.Column("string", max_length=50), nullable=True)
        )
    run_data(fill)


def downgrade():
    with op.batch_alter_table("mt_authors") as batch:
        batch.drop_column("nick")
'''


def _revision(folder: Path, revision: str, *, fail: bool) -> str:
    parent = script_directory(folder).get_current_head()
    text = DATA_STEP.format(message="data", revision=revision, parent=parent, fail=fail)
    (folder / "versions" / f"{revision}_data.py").write_text(textwrap.dedent(text))
    assert parent is not None
    return parent


async def _first(folder: Path, url: str) -> list[type[aksara.Model]]:
    models = version_one()
    await migrations.make_migrations("initial", path=folder, models=models)
    await migrations.migrate(path=folder, models=models)
    await models[0].objects.create(name="Ann", email="ann@example.com")
    return models


async def test_a_data_step_runs_aksara_queries_in_the_revision(
    new_database: Any, tmp_path: Path
) -> None:
    url, folder = await new_database(), tmp_path / "migrations"
    async with aksara.connect(url):
        models = await _first(folder, url)
        _revision(folder, "d474", fail=False)
        assert await migrations.migrate(path=folder, models=models) == ["d474"]
        rows = await aksara.get_database().fetch("SELECT name, nick FROM mt_authors")
    assert [tuple(row) for row in rows] == [("Anne", "Ann")]


async def test_a_failed_data_step_rolls_back_the_schema_change(
    new_database: Any, tmp_path: Path
) -> None:
    url, folder = await new_database(), tmp_path / "migrations"
    async with aksara.connect(url):
        models = await _first(folder, url)
        parent = _revision(folder, "fa11", fail=True)
        with pytest.raises(RuntimeError, match="the data step failed"):
            await migrations.migrate(path=folder, models=models)
        states = await migrations.show_migrations(path=folder)
        assert [(s.revision, s.applied) for s in states] == [(parent, True), ("fa11", False)]
        rows = await aksara.get_database().fetch("SELECT name FROM mt_authors")
    assert [tuple(row) for row in rows] == [("Ann",)]
    assert "nick" not in (await catalogue(url))["mt_authors"]["columns"]


async def test_a_rename_is_asked_and_the_answer_kept(new_database: Any, tmp_path: Path) -> None:
    url, folder = await new_database(), tmp_path / "migrations"
    asked: list[str] = []

    def prompt(question: str) -> bool:
        asked.append(question)
        return "body" in question and "content" in question

    async with aksara.connect(url):
        await _first(folder, url)
        from tests.migrations.models import version_two

        written = await migrations.make_migrations(
            path=folder, models=version_two(), prompt=prompt, allow_drop=True
        )
    assert written is not None
    assert "Was mt_articles.body renamed to mt_articles.content?" in asked
    assert "new_column_name='content'" in written.read_text()


async def test_concurrent_index_and_offline_sql(new_database: Any, tmp_path: Path) -> None:
    url, folder = await new_database(), tmp_path / "migrations"
    async with aksara.connect(url):
        await _first(folder, url)
        models = version_one()
        models[1]._meta.declared_indexes.append(aksara.Index(fields=["views"], name="mt_views"))
        models[1]._meta._pending_indexes.append(models[1]._meta.declared_indexes[-1])
        written = await migrations.make_migrations(
            "views", path=folder, models=models, concurrently=True
        )
        assert written is not None
        assert "aksara_ops.create_index_concurrently('mt_views', 'mt_articles', ['views'])" in (
            written.read_text()
        )
        await migrations.migrate(path=folder, models=models)
        assert await migrations.check_migrations(path=folder, models=models) == []
        if url.startswith("postgresql"):
            valid = await aksara.get_database().fetchval(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'mt_views'::regclass"
            )
            assert valid is True
    revision = written.name.split("_")[0]
    for dialect in ("postgresql", "sqlite"):
        sql = migrations.sql_migrate(revision, dialect=dialect, path=folder)
        assert "CREATE INDEX" in sql and "mt_views" in sql
    first = script_directory(folder).get_revision(revision).down_revision
    assert isinstance(first, str)
    sql = migrations.sql_migrate(first, dialect="postgresql", path=folder)
    assert "CREATE TABLE mt_articles" in sql and "VARCHAR(100)" in sql


async def test_a_table_rename_keeps_its_rows(new_database: Any, tmp_path: Path) -> None:
    from aksara import Model, fields
    from tests.migrations.helpers import created_catalogue, differences, module_name

    def note(table: str) -> list[type[Model]]:
        module = module_name()

        class Note(Model):
            __module__ = module
            title = fields.String(max_length=40, unique=True)
            views = fields.Integer(default=0, db_index=True)

            class Meta:
                table_name = table

        return [Note]

    url, folder = await new_database(), tmp_path / "migrations"
    async with aksara.connect(url):
        first = note("mt_notes")
        await migrations.make_migrations(path=folder, models=first)
        await migrations.migrate(path=folder, models=first)
        await first[0].objects.create(title="kept")
        second = note("mt_memos")
        with pytest.raises(migrations.UnsafeMigrationError, match="--rename mt_notes:mt_memos"):
            await migrations.make_migrations(path=folder, models=second)
        await migrations.make_migrations(path=folder, models=second, renames=["mt_notes:mt_memos"])
        await migrations.migrate(path=folder, models=second)
        assert await migrations.check_migrations(path=folder, models=second) == []
        assert [m.title for m in await second[0].objects.all()] == ["kept"]
    reference = await new_database()
    assert differences(await catalogue(url), await created_catalogue(reference, second)) == []


ORPHAN = """
from alembic import op

revision = "0fa0"
down_revision = "{parent}"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("INSERT INTO mt_articles (title, views, published, author_id) VALUES ('x', 0, false, 999)")


def downgrade():
    pass
"""


async def test_a_revision_leaving_broken_foreign_keys_is_rolled_back(
    new_database: Any, tmp_path: Path
) -> None:
    url, folder = await new_database(), tmp_path / "migrations"
    async with aksara.connect(url):
        models = await _first(folder, url)
        parent = script_directory(folder).get_current_head()
        (folder / "versions" / "0fa0_orphan.py").write_text(ORPHAN.format(parent=parent))
        with pytest.raises(migrations.MigrationError, match="foreign key"):
            await migrations.migrate(path=folder, models=models)
        assert await aksara.get_database().fetchval("SELECT count(*) FROM mt_articles") == 0
        states = await migrations.show_migrations(path=folder)
        assert [s.applied for s in states] == [True, False]
