"""Helpers for the query debugging tests: a default database built from given settings,
and the line numbers of marked statements in a test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aksara
from aksara.conf import settings
from aksara.db import Database
from tests.conftest import pool_options
from tests.schema import prepare


@asynccontextmanager
async def configured_database(database_url: str, **keys: Any) -> AsyncIterator[Database]:
    """The default database on *database_url*, built from settings that include *keys*
    (``LOG_QUERIES``, ``SLOW_QUERY_MS``, ...), every model's table present and empty;
    everything restored after.
    """
    await aksara.disconnect()  # the next query builds the default database from the settings
    settings.reset()
    try:
        aksara.configure(DATABASE_URL=database_url, DATABASE_POOL=pool_options(), **keys)
        database = await aksara.connect()
        await prepare(database)
        yield database
    finally:
        await aksara.disconnect()
        settings.reset()


def marked_line(path: str, marker: str) -> int:
    """The number of the one line of *path* that ends with the comment ``# <marker>``."""
    lines = Path(path).read_text().splitlines()
    found = [n for n, text in enumerate(lines, start=1) if text.rstrip().endswith(f"# <{marker}>")]
    assert len(found) == 1, f"marker <{marker}> found {len(found)} times in {path}"
    return found[0]
