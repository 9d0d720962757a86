"""A database that cannot be reached is a named error saying what to check, never a raw
driver exception, and no message shows the URL's password."""

from __future__ import annotations

import traceback
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

import aksara
from aksara.conf import _database_pool, settings
from aksara.db import Database
from aksara.exceptions import ConfigurationError, DatabaseUnavailableError
from tests.conftest import pool_options

SECRET = "s3cr3t-pw"


def _with(url: str, *, netloc: str | None = None, path: str | None = None) -> str:
    parts = urlsplit(url)
    return urlunsplit(
        parts._replace(netloc=netloc or parts.netloc, path=path if path is not None else parts.path)
    )


def _cases(database_url: str, tmp_path: Path) -> list[tuple[str, list[str]]]:
    """Unreachable URLs of the backend under test and the words their error must hold."""
    if database_url.startswith("sqlite"):
        missing = tmp_path / "no" / "such" / "dir" / "app.sqlite3"
        directory = tmp_path / "a_directory"
        directory.mkdir()
        not_a_database = tmp_path / "notes.txt"
        not_a_database.write_text("not a database " * 100)
        return [
            (f"sqlite:///{missing}", [str(missing), "directory exists"]),
            (f"sqlite:///{directory}", [str(directory), "directory exists"]),
            (f"sqlite:///{not_a_database}", [str(not_a_database), "SQLite database"]),
        ]
    host = urlsplit(database_url).hostname or "127.0.0.1"
    port = urlsplit(database_url).port or 5432
    return [
        (_with(database_url, netloc=f"someone:{SECRET}@127.0.0.1:1"), ["127.0.0.1:1", "runs"]),
        (
            _with(database_url, netloc=f"{host}:{port}", path="/aksara_no_such_db"),
            ["'aksara_no_such_db'", "createdb"],
        ),
        (
            _with(database_url, netloc=f"aksara_no_such_role:{SECRET}@{host}:{port}"),
            ["'aksara_no_such_role'", "role exists"],
        ),
    ]


async def test_unreachable_database_is_a_named_error(database_url: str, tmp_path: Path) -> None:
    for url, words in _cases(database_url, tmp_path):
        for step in ("open", "query"):
            database = Database(url, _database_pool(pool_options()))
            assert SECRET not in repr(database)
            with pytest.raises(DatabaseUnavailableError) as caught:
                if step == "open":
                    await database.open()
                else:
                    await database.fetchval("SELECT 1")
            message = str(caught.value)
            for word in words:
                assert word in message, (word, message)
            assert SECRET not in "".join(traceback.format_exception(caught.value))
            assert not database.is_open
            await database.close()


async def test_configured_url_is_masked_in_every_message(database_url: str) -> None:
    settings.reset()
    try:
        for wrong in (
            f"mysql://root:{SECRET}@db.example/app",
            f"postgresql+asyncpg://u:{SECRET}@h/d",
        ):
            with pytest.raises(ConfigurationError) as caught:
                aksara.configure(DATABASE_URL=wrong)
            assert SECRET not in str(caught.value)
            assert "***" in str(caught.value)
            with pytest.raises(ConfigurationError) as caught:
                Database(wrong, _database_pool({}))
            assert SECRET not in str(caught.value)
        with pytest.raises(ConfigurationError) as caught:
            Database(f"sqlite://user:{SECRET}@host", _database_pool({}))
        assert SECRET not in str(caught.value)
    finally:
        settings.reset()

    if database_url.startswith("postgres"):
        parts = urlsplit(database_url)
        url = urlunsplit(
            parts._replace(
                netloc=f"someone:{SECRET}@{parts.netloc}", query=f"{parts.query}&password={SECRET}"
            )
        )
        shown = repr(Database(url, _database_pool({})))
        assert SECRET not in shown
        assert "someone:***@" in shown
        assert "password=***" in shown
    else:
        assert urlsplit(database_url).path in repr(Database(database_url, _database_pool({})))
