"""``atomic()``: transactions that pin one connection to the task, savepoints when nested."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import ParamSpec, TypeVar

from aksara.db.connections import get_database
from aksara.db.database import Binding, Database, current_binding

__all__ = ["atomic", "in_atomic_block"]

P = ParamSpec("P")
R = TypeVar("R")


class atomic:
    """Run the block in a transaction; an exception rolls it back.

    Inside, every query of the task (and of tasks it starts) uses the one connection.
    Nested blocks become savepoints, so an inner failure undoes only the inner work.
    Also a decorator: ``@atomic()``.
    """

    def __init__(self, database: Database | None = None) -> None:
        self._database = database
        self._frames: list[tuple[Binding, AbstractAsyncContextManager[Binding] | None]] = []

    async def __aenter__(self) -> atomic:
        database = self._database or get_database()
        binding = current_binding()
        owned: AbstractAsyncContextManager[Binding] | None = None
        if binding is None or binding.database is not database or binding.closed:
            owned = database.connection()
            binding = await owned.__aenter__()
        try:
            if binding.depth == 0:
                await database.execute(database.dialect.begin_statement)
            else:
                await database.execute(f"SAVEPOINT aksara_{binding.depth}")
        except BaseException:
            if owned is not None:
                await owned.__aexit__(None, None, None)
            raise
        binding.depth += 1
        self._frames.append((binding, owned))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        binding, owned = self._frames.pop()
        try:
            await asyncio.shield(self._finish(binding, commit=exc_type is None))
        finally:
            if owned is not None:
                await owned.__aexit__(exc_type, exc, traceback)

    @staticmethod
    async def _finish(binding: Binding, *, commit: bool) -> None:
        database = binding.database
        binding.depth -= 1
        depth = binding.depth
        if depth == 0:
            await database.execute("COMMIT" if commit else "ROLLBACK")
        elif commit:
            await database.execute(f"RELEASE SAVEPOINT aksara_{depth}")
        else:
            await database.execute(f"ROLLBACK TO SAVEPOINT aksara_{depth}")
            await database.execute(f"RELEASE SAVEPOINT aksara_{depth}")

    def __call__(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        database = self._database

        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with atomic(database):
                return await function(*args, **kwargs)

        return wrapper


def in_atomic_block(database: Database | None = None) -> bool:
    """True when the current task is inside ``atomic()`` on *database* (default: any)."""
    binding = current_binding()
    if binding is None or binding.closed or binding.depth == 0:
        return False
    return database is None or binding.database is database
