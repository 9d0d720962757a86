"""Fixtures of the migration tests: databases of their own on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

import tests.conftest as common
from tests.migrations.helpers import forget_models, postgres_database


@pytest.fixture(autouse=True)
def _forget_models() -> Any:
    yield
    forget_models()


@pytest.fixture(params=["sqlite", "postgresql"])
async def new_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Any]]:
    """Makes empty databases of the test's own (SQLite files, or PostgreSQL databases
    dropped at the end); call it for each one."""
    if request.param == "postgresql":
        problem = await common._postgres_unavailable()
        if problem:
            if common.IN_CI:
                pytest.fail(problem + " (CI requires it)")
            pytest.skip(problem)
    counter = iter(range(100))
    async with AsyncExitStack() as stack:

        async def make() -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite3'}"
            return await stack.enter_async_context(postgres_database())

        yield make
