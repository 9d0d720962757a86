"""A statement whose connection is lost is retried only when that cannot apply it twice.

On PostgreSQL a TCP relay between the pool and the server drops both sockets right after
the server answered a chosen statement: the server has done (and committed) the work, the
client never hears of it. On SQLite a pooled connection is closed under the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

import aksara
from aksara.db import Database, atomic
from aksara.exceptions import ConnectionLostError, WriteOutcomeUnknownError
from tests.db.helpers import own_pool, scratch_table
from tests.models import Category

postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


class Relay:
    """Forwards TCP between clients and PostgreSQL; can cut one answered statement short.

    ``drop_after("INSERT")`` makes the relay watch the server's messages: once a statement
    completes with that command tag and the server reports it ready again (the implicit
    transaction has committed), both sockets are closed before the client sees the answer.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.tag: bytes | None = None
        self.drops = 0
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def drop_after(self, tag: str) -> None:
        self.tag = tag.encode()

    async def __aenter__(self) -> Relay:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def address(self) -> tuple[str, int]:
        assert self.server is not None
        host, port = self.server.sockets[0].getsockname()[:2]
        return host, port

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        writers = (writer, upstream_writer)
        up = asyncio.ensure_future(self._pump(reader, upstream_writer, writers))
        down = asyncio.ensure_future(self._answers(upstream_reader, writer, writers))
        self.tasks.update((up, down))
        await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        for task in (up, down):
            task.cancel()
        for each in writers:
            each.transport.abort()

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        writers: tuple[asyncio.StreamWriter, ...],
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()

    async def _answers(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        writers: tuple[asyncio.StreamWriter, ...],
    ) -> None:
        # Server messages are a type byte and a 4-byte length (sslmode=disable: no bare 'N').
        held = False
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                header = await reader.readexactly(5)
                kind = header[:1]
                (length,) = struct.unpack("!I", header[1:])
                body = await reader.readexactly(length - 4)
                if kind == b"C" and self.tag is not None and body.startswith(self.tag):
                    held = True  # the statement's answer: never forwarded
                if held:
                    if kind == b"Z":
                        self.tag = None
                        self.drops += 1
                        for each in writers:
                            each.transport.abort()
                        return
                    continue
                writer.write(header + body)
                await writer.drain()


@asynccontextmanager
async def relayed_pool(database_url: str, **pool: object) -> AsyncIterator[tuple[Database, Relay]]:
    parts = urlsplit(database_url)
    async with Relay(parts.hostname or "127.0.0.1", parts.port or 5432) as relay:
        host, port = relay.address
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "sslmode"]
        query.append(("sslmode", "disable"))
        url = urlunsplit(parts._replace(netloc=f"{host}:{port}", query=urlencode(query)))
        async with own_pool(url, **pool) as db:
            yield db, relay


@asynccontextmanager
async def category_table() -> AsyncIterator[None]:
    await aksara.drop_tables([Category])
    await aksara.create_tables([Category])
    try:
        yield
    finally:
        await aksara.drop_tables([Category])


@postgresql_only
async def test_create_whose_answer_is_lost_is_stored_once(database_url: str) -> None:
    async with (
        relayed_pool(database_url, min_size=2, max_size=2) as (_, relay),
        category_table(),
    ):
        relay.drop_after("INSERT")
        with pytest.raises(WriteOutcomeUnknownError, match="may or may not have been applied"):
            await Category.objects.create(name="once")
        assert relay.drops == 1
        assert await Category.objects.filter(name="once").count() == 1

        # A unique insert that committed is not run again into its own IntegrityError.
        relay.drop_after("INSERT")
        with pytest.raises(WriteOutcomeUnknownError):
            await Category.objects.create(name="unique")
        assert await Category.objects.count() == 2


@postgresql_only
async def test_bulk_create_whose_answer_is_lost_is_never_doubled(database_url: str) -> None:
    async with (
        relayed_pool(database_url, min_size=2, max_size=2) as (_, relay),
        category_table(),
    ):
        relay.drop_after("INSERT")
        with pytest.raises(WriteOutcomeUnknownError):
            await Category.objects.bulk_create([Category(name=f"c{i}") for i in range(100)])
        assert relay.drops == 1
        assert await Category.objects.count() in (0, 100)


@postgresql_only
async def test_raw_writes_whose_answer_is_lost_are_not_rerun(database_url: str) -> None:
    async with (
        relayed_pool(database_url, min_size=2, max_size=2) as (db, relay),
        scratch_table(db) as table,
    ):
        relay.drop_after("INSERT")
        with pytest.raises(WriteOutcomeUnknownError):
            await db.execute(f"INSERT INTO {table} (id, label) VALUES (1, 'a')")
        # Not marked read_only: a statement returning rows is not rerun either.
        relay.drop_after("INSERT")
        with pytest.raises(WriteOutcomeUnknownError):
            await db.fetch(f"INSERT INTO {table} (id, label) VALUES (2, 'b') RETURNING id")
        # read_only=True on a statement that writes does not make it retried.
        relay.drop_after("SELECT")
        with pytest.raises(WriteOutcomeUnknownError):
            await db.fetch(
                f"WITH n AS (INSERT INTO {table} (id, label) VALUES (3, 'c') RETURNING id) "
                "SELECT id FROM n",
                read_only=True,
            )
        # Pinned outside a transaction, a write commits on its own: same outcome.
        async with db.connection():
            relay.drop_after("INSERT")
            with pytest.raises(WriteOutcomeUnknownError):
                await db.execute(f"INSERT INTO {table} (id, label) VALUES (4, 'd')")
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 4


@postgresql_only
async def test_reads_whose_answer_is_lost_are_retried(database_url: str) -> None:
    async with (
        relayed_pool(database_url, min_size=2, max_size=2) as (db, relay),
        category_table(),
    ):
        await Category.objects.bulk_create([Category(name=f"c{i}") for i in range(3)])
        relay.drop_after("SELECT")
        names = [c.name for c in await Category.objects.order_by("name")]
        assert names == ["c0", "c1", "c2"]
        relay.drop_after("SELECT")
        assert await Category.objects.count() == 3
        relay.drop_after("SELECT")
        assert await Category.objects.filter(name="c1").exists()
        relay.drop_after("SELECT")
        assert await db.fetchval("SELECT 7", read_only=True) == 7
        assert relay.drops == 4

        # Row locks are taken inside atomic() only: a connection lost there ends the
        # transaction, and nothing of it is run again.
        relay.drop_after("SELECT")
        with pytest.raises(ConnectionLostError) as lost:
            async with atomic():
                await Category.objects.select_for_update().filter(name="c1")
        assert not isinstance(lost.value, WriteOutcomeUnknownError)


@sqlite_only
async def test_sqlite_statements_on_a_closed_connection(database_url: str) -> None:
    """aiosqlite finds a closed connection before the statement is queued to its thread, so
    it never ran: a read and a write are both rerun on a fresh connection, the write once."""
    async with own_pool(database_url, min_size=1, max_size=1) as db, category_table():
        for statement in ("read", "write"):
            async with db.connection() as binding:
                raw = binding.connection.raw
            await raw.close()  # the pooled connection dies while idle
            if statement == "read":
                assert await Category.objects.count() == 0
            else:
                await Category.objects.create(name="once")
            assert db.pool_status().size == 1
        assert await Category.objects.filter(name="once").count() == 1

        # Pinned, a closed connection is never swapped under the block: the error is raised.
        with pytest.raises(ConnectionLostError) as caught:
            async with db.connection() as binding:
                await binding.connection.raw.close()
                await Category.objects.create(name="pinned")
        assert not isinstance(caught.value, WriteOutcomeUnknownError)
        assert await Category.objects.count() == 1
