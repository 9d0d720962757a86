"""A schema's life through migrations on SQLite and PostgreSQL: every revision builds what
``create_tables()`` builds (compared through the catalogues), data survives the changes,
renames and drops need an answer, and a downgrade comes back to the previous schema."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import aksara
from aksara import migrations
from tests.migrations.helpers import catalogue, created_catalogue, differences
from tests.migrations.models import version_one, version_two


async def test_first_revision_builds_what_create_tables_builds(
    new_database: Any, tmp_path: Path
) -> None:
    url, reference = await new_database(), await new_database()
    models = version_one()
    folder = tmp_path / "migrations"
    async with aksara.connect(url):
        written = await migrations.make_migrations("initial", path=folder, models=models)
        assert written is not None and written.parent == folder / "versions"
        assert (folder / "env.py").exists()
        heads = await migrations.migrate(path=folder, models=models)
        assert heads == [written.name.split("_")[0]]
        assert await migrations.check_migrations(path=folder, models=models) == []
        assert await migrations.make_migrations(path=folder, models=models) is None
    expected = await created_catalogue(reference, models)
    assert set(expected) == {"mt_authors", "mt_articles"}
    assert differences(await catalogue(url), expected) == []


async def test_changes_keep_the_data_and_match_create_tables(
    new_database: Any, tmp_path: Path
) -> None:
    url = await new_database()
    folder = tmp_path / "migrations"
    first = version_one()
    author_model, article_model = first
    async with aksara.connect(url):
        await migrations.make_migrations("initial", path=folder, models=first)
        (start,) = await migrations.migrate(path=folder, models=first)
        author = await author_model.objects.create(name="Ann", email="ann@example.com")
        await article_model.objects.create(
            title="Kept", body="the text", legacy="old", author=author, price=Decimal("1.50")
        )
        second = version_two()
        # body -> content may be a rename: refused without an answer, nothing written.
        with pytest.raises(migrations.UnsafeMigrationError, match=r"mt_articles\.body:content"):
            await migrations.make_migrations(path=folder, models=second)
        assert len(list((folder / "versions").glob("*.py"))) == 1
        written = await migrations.make_migrations(
            "second", path=folder, models=second, renames=["mt_articles.body:content"]
        )
        assert written is not None
        text = written.read_text()
        assert "aksara_ops.check_empty('mt_articles', 'legacy')" in text
        assert "aksara_ops.fill_nulls('mt_articles', 'rating', 5, kind='integer')" in text
        # legacy holds data: migrate refuses and stays at the first revision.
        with pytest.raises(migrations.UnsafeMigrationError, match="--allow-drop"):
            await migrations.migrate(path=folder, models=second)
        states = await migrations.show_migrations(path=folder)
        assert [state.applied for state in states] == [True, False]
        await migrations.migrate(path=folder, models=second, allow_drop=True)
        assert await migrations.check_migrations(path=folder, models=second) == []
        rows = await aksara.get_database().fetch(
            "SELECT title, content, rating, summary, price FROM mt_articles"
        )
    assert [tuple(row)[:4] for row in rows] == [("Kept", "the text", 5, "")]
    reference = await new_database()
    assert differences(await catalogue(url), await created_catalogue(reference, second)) == []

    async with aksara.connect(url):
        await migrations.migrate(start, path=folder, models=second, allow_drop=True)
        rows = await aksara.get_database().fetch("SELECT title, body FROM mt_articles")
        assert [tuple(row) for row in rows] == [("Kept", "the text")]
    reference = await new_database()
    assert differences(await catalogue(url), await created_catalogue(reference, first)) == []
    async with aksara.connect(url):
        assert await migrations.migrate("zero", path=folder, models=first, allow_drop=True) == []
    assert await catalogue(url) == {}
