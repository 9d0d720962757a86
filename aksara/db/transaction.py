"""``atomic()``: transactions that pin one connection to the task, savepoints when nested."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from aksara.db.connections import get_database
from aksara.db.database import Binding, Database, _frame, current_binding
from aksara.db.writes import announce_writes
from aksara.exceptions import TransactionError

__all__ = ["Atomic", "atomic", "in_atomic_block", "on_commit"]

P = ParamSpec("P")
R = TypeVar("R")


def atomic(database: Database | None = None, *, using: str | None = None) -> Atomic:
    """A transaction block on *database*, or on the database *using* names (default: the
    default database): ``async with atomic():`` or ``@atomic()``; nested blocks become
    savepoints. Inside, reads of replicated models go to the primary."""
    return Atomic(database, using=using)


class Atomic:
    """Run the block in a transaction; an exception rolls it back.

    Inside, every query of the task (and of tasks it starts) uses the one connection.
    Nested blocks become savepoints, so an inner failure undoes only the inner work.
    Also a decorator.
    """

    def __init__(self, database: Database | None = None, *, using: str | None = None) -> None:
        if database is not None and using is not None:
            raise TypeError("atomic() takes a database or using=alias, not both.")
        if using is not None:
            get_database(using)  # an unknown alias fails here, listing the valid ones
        self._database = database
        self._using = using
        self._frames: list[
            tuple[Binding, AbstractAsyncContextManager[Binding] | None, object, str | None, Any]
        ] = []
        self._task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> Atomic:
        task = asyncio.current_task()
        if self._frames and self._task is not task:
            # Its frames would interleave with the other task's and leak both connections.
            raise TransactionError(
                "This atomic() object is already open in another task; one object cannot be "
                "entered by two tasks at once. Create one per task: `async with atomic():` "
                "inside each task, or decorate the task's function with @atomic()."
            )
        self._task = task
        database = self._database or get_database(self._using or "default")
        binding = current_binding()
        owned: AbstractAsyncContextManager[Binding] | None = None
        if binding is None or binding.database is not database or binding.closed:
            owned = database.connection()
            binding = await owned.__aenter__()
        await binding.wait_turn()
        frame = object()
        savepoint = None
        if binding.frames:
            binding.savepoints += 1
            savepoint = f"aksara_{binding.savepoints}"
        binding.frames.append(frame)
        token = _frame.set(frame)
        try:
            if savepoint is None:
                await database.execute(database.dialect.begin_statement, keeps_session=True)
            else:
                await database.execute(f"SAVEPOINT {savepoint}", keeps_session=True)
        except BaseException:
            _frame.reset(token)
            await self._pop(binding, frame)
            if owned is not None:
                await owned.__aexit__(None, None, None)
            if not self._frames:
                self._task = None
            raise
        binding.depth += 1
        self._frames.append((binding, owned, frame, savepoint, token))
        return self

    @staticmethod
    async def _pop(binding: Binding, frame: object) -> None:
        binding.frames.remove(frame)
        async with binding.turn:
            binding.turn.notify_all()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        binding, owned, frame, savepoint, token = self._frames.pop()
        if not self._frames:
            self._task = None
        try:
            if (
                owned is not None
                and savepoint is None
                and exc_type is not None
                and binding.connection.broken
            ):
                # A cancelled statement may still run (or wait for a lock) on it: the pool
                # closes or settles the connection, which ends the transaction, instead of
                # making the cancelled task wait behind a ROLLBACK.
                binding.depth -= 1
                self._forget(binding, frame)
                await self._pop(binding, frame)
                return
            await asyncio.shield(self._finish(binding, frame, savepoint, commit=exc_type is None))
        finally:
            _frame.reset(token)
            if owned is not None:
                await owned.__aexit__(exc_type, exc, traceback)

    @classmethod
    async def _finish(
        cls, binding: Binding, frame: object, savepoint: str | None, *, commit: bool
    ) -> None:
        database = binding.database
        binding.depth -= 1
        committed = False
        written: set[str] = set()
        callbacks: list[Callable[[], Any]] = []
        try:
            if savepoint is None:
                await database.execute("COMMIT" if commit else "ROLLBACK", keeps_session=True)
                committed = commit
            elif commit:
                await database.execute(f"RELEASE SAVEPOINT {savepoint}", keeps_session=True)
                cls._hand_up(binding, frame)
            else:
                await database.execute(f"ROLLBACK TO SAVEPOINT {savepoint}", keeps_session=True)
                await database.execute(f"RELEASE SAVEPOINT {savepoint}", keeps_session=True)
        finally:
            if savepoint is None or not commit:
                written, callbacks = cls._forget(binding, frame)
            await cls._pop(binding, frame)
        if committed:
            await _after_commit(written, callbacks)

    @staticmethod
    def _hand_up(binding: Binding, frame: object) -> None:
        """A released savepoint's writes and callbacks now belong to its parent block."""
        parent = binding.frames[binding.frames.index(frame) - 1]
        tables = binding.written.pop(frame, None)
        if tables:
            binding.written.setdefault(parent, set()).update(tables)
        binding.on_commit[:] = [
            (parent if owner is frame else owner, callback) for owner, callback in binding.on_commit
        ]

    @staticmethod
    def _forget(binding: Binding, frame: object) -> tuple[set[str], list[Callable[[], Any]]]:
        """Take the block's writes and callbacks off the binding (run, or dropped)."""
        written = binding.written.pop(frame, set())
        mine = [callback for owner, callback in binding.on_commit if owner is frame]
        if mine:
            binding.on_commit[:] = [item for item in binding.on_commit if item[0] is not frame]
        return written, mine

    def __call__(self, function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        database = self._database
        using = self._using

        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with Atomic(database, using=using):
                return await function(*args, **kwargs)

        return wrapper


async def _after_commit(written: set[str], callbacks: list[Callable[[], Any]]) -> None:
    """Announce the committed writes, then run the on_commit callbacks in order."""
    if written:
        await announce_writes(frozenset(written))
    for callback in callbacks:
        await _run(callback)


async def _run(callback: Callable[[], Any]) -> None:
    result = callback()
    if inspect.isawaitable(result):
        await result


async def on_commit(callback: Callable[[], Any], database: Database | None = None) -> None:
    """Run *callback* (sync or async) once the current transaction on *database* commits;
    outside ``atomic()``, now. Dropped when the transaction, or the savepoint it was
    registered in, rolls back."""
    binding = current_binding()
    target = database or get_database()
    if binding is None or binding.closed or binding.depth == 0 or binding.database is not target:
        await _run(callback)
        return
    mine = _frame.get()
    owner = mine if mine in binding.frames else binding.frames[-1]
    binding.on_commit.append((owner, callback))


def in_atomic_block(database: Database | None = None) -> bool:
    """True when the current task is inside ``atomic()`` on *database* (default: any)."""
    binding = current_binding()
    if binding is None or binding.closed or binding.depth == 0:
        return False
    return database is None or binding.database is database
