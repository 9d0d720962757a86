"""The MIGRATIONS setting and the choice of models and folder it makes."""

from __future__ import annotations

from pathlib import Path

import pytest

import aksara
from aksara import migrations
from aksara.conf import settings
from aksara.exceptions import ConfigurationError
from aksara.migrations.commands import project_models
from tests.migrations.models import version_one


def test_migrations_setting_defaults_and_validation() -> None:
    assert settings.MIGRATIONS == {"path": "migrations", "models": []}
    aksara.configure(MIGRATIONS={"path": "db/migrations", "models": "myapp.models"})
    assert settings.MIGRATIONS == {"path": "db/migrations", "models": ["myapp.models"]}
    with pytest.raises(ConfigurationError, match=r"Unknown MIGRATIONS key 'model'.*'models'"):
        aksara.configure(MIGRATIONS={"model": ["myapp.models"]})
    with pytest.raises(ConfigurationError, match="list of module names"):
        aksara.configure(MIGRATIONS={"models": [1]})
    with pytest.raises(ConfigurationError, match="must be a dict"):
        aksara.configure(MIGRATIONS="migrations")


def test_models_come_from_the_setting_with_their_join_tables() -> None:
    author, article = version_one()
    aksara.configure(MIGRATIONS={"models": [article.__module__]})
    assert project_models() == [author, article]
    assert project_models([article]) == [article]
    with pytest.raises(migrations.MigrationError, match="define no models"):
        project_models(["aksara.conf"])


async def test_migrate_without_a_folder_says_how_to_make_one(tmp_path: Path) -> None:
    async with aksara.connect(f"sqlite:///{tmp_path / 'x.sqlite3'}"):
        with pytest.raises(migrations.MigrationError, match="run `aksara makemigrations`"):
            await aksara.migrate(path=tmp_path / "missing", models=version_one())


def test_an_in_memory_database_cannot_be_migrated(tmp_path: Path) -> None:
    from aksara.migrations.connection import _creator

    with pytest.raises(migrations.MigrationError, match="in-memory"):
        _creator("sqlite:///:memory:")
