"""Table versions: entries that go stale when a table they were computed from is written.

Each write bumps a global counter G and sets each written table's version to the new G
(one Redis script: ``INCR`` + ``SET``s). An entry stores the versions of the tables its
computation read, as they were when it was stored; it is fresh while they are unchanged.
``begin()`` reads G before computing; ``set_fresh()`` stores only when none of the
entry's tables has a version above that G (no write to them committed meanwhile, so the
versions stored describe what the computation saw). With the memory backend the versions
live in the process: invalidation reaches only the process that wrote.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from aksara.cache.backends.base import Cache
from aksara.cache.codec import CodecError
from aksara.cache.registry import caches
from aksara.cache.tracking import note_read
from aksara.db.events import current_listeners
from aksara.db.writes import EVERY_TABLE, add_write_hook

__all__ = ["EVERY_TABLE", "begin", "bump", "get_fresh", "set_fresh"]

logger = logging.getLogger("aksara.cache.versions")

# KEYS: entry, global counter; ARGV: version key prefix.
# Returns {payload or false, G, header}: G is begin()'s token after a miss, without a
# round trip; the header names the entry's tables (for a computation that uses it).
_GET = """
local e = redis.call('GET', KEYS[1])
local g = redis.call('GET', KEYS[2]) or '0'
if not e or string.sub(e, 1, 4) ~= 'AKV1' then return {false, g} end
local n = tonumber(string.sub(e, 5, 12))
if not n then return {false, g} end
local names, want = {}, {}
for name, v in string.gmatch(string.sub(e, 13, 12 + n), '([^\\t]+)\\t([^\\t]+)\\t') do
  names[#names + 1] = ARGV[1] .. name
  want[#want + 1] = v
end
if #names > 0 then
  local now = redis.call('MGET', unpack(names))
  for i = 1, #names do
    if (now[i] or '0') ~= want[i] then return {false, g} end
  end
end
return {string.sub(e, 13 + n), g, string.sub(e, 13, 12 + n)}
"""

# KEYS: entry, global counter; ARGV: version key prefix, token, ttl in ms (0: none),
# payload, tables... Stores the entry with its tables' current versions unless one moved
# past the token, or the counter went back (the versions were cleared meanwhile).
_SET = """
local token = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[2]) or '0') < token then return 0 end
local parts = {}
for i = 5, #ARGV do
  local v = redis.call('GET', ARGV[1] .. ARGV[i]) or '0'
  if tonumber(v) > token then return 0 end
  parts[#parts + 1] = ARGV[i] .. '\\t' .. v .. '\\t'
end
local body = table.concat(parts)
local entry = 'AKV1' .. string.format('%08d', #body) .. body .. ARGV[4]
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('SET', KEYS[1], entry, 'PX', ttl) else redis.call('SET', KEYS[1], entry) end
return 1
"""

# KEYS: global counter, then the written tables' version keys.
_BUMP = """
local g = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], g) end
return g
"""


class _Local:
    """The versions of a memory cache: in this process only."""

    __slots__ = ("counter", "tables")

    def __init__(self) -> None:
        self.counter = 0
        self.tables: dict[str, int] = {}


_locals: weakref.WeakKeyDictionary[Cache, _Local] = weakref.WeakKeyDictionary()
_shas: dict[str, str] = {}
# Per Redis cache: the tables each key's entry was stored with, as this process last saw
# them, so that a hit is one plain MGET instead of a script call.
_known: weakref.WeakKeyDictionary[Cache, dict[str, list[bytes]]] = weakref.WeakKeyDictionary()
_KNOWN_LIMIT = 10_000
# The global counter the last miss of this context saw, for begin() to reuse.
_last_miss: ContextVar[tuple[Cache, int] | None] = ContextVar("aksara_cache_miss", default=None)


def _local(cache: Cache) -> _Local:
    state = _locals.get(cache)
    if state is None:
        state = _locals[cache] = _Local()
    return state


def _counter_key(cache: Cache) -> str:
    return f"{cache.key_prefix}:v"


def _version_prefix(cache: Cache) -> str:
    return f"{cache.key_prefix}:v:"


async def _evaluate(client: Any, source: str, keys: list[str], args: list[Any]) -> Any:
    """Run the script *source* by its SHA1 (loaded when the server does not know it)."""
    sha = _shas.get(source)
    if sha is None:
        sha = _shas[source] = hashlib.sha1(source.encode()).hexdigest()
    try:
        return await client.evalsha(sha, len(keys), *keys, *args)
    except Exception as error:
        # By name: importing redis here would load it for memory-only applications too.
        if type(error).__name__ != "NoScriptError":
            raise
        await client.script_load(source)
        return await client.evalsha(sha, len(keys), *keys, *args)


async def begin(cache: Cache) -> int:
    """The token to compute a value with: the global write counter, read before computing
    (free right after this context's get_fresh() missed on *cache*)."""
    last = _last_miss.get()
    if last is not None and last[0] is cache:
        _last_miss.set(None)
        return last[1]
    client = cache.redis
    if client is None:
        return _local(cache).counter
    # On failure -1: set_fresh() then stores nothing.
    value = await cache.run(client.get(_counter_key(cache)), b"-1")
    return int(value or 0)


async def get_fresh(cache: Cache, key: str) -> tuple[bool, Any]:
    """``(True, value)`` when *key* holds an entry none of whose tables was written since
    it was stored, else ``(False, None)``; one round trip on Redis."""
    client = cache.redis
    if client is None:
        return await _get_local(cache, key)
    known = _known_tables(cache)
    names = known.get(key)
    if names is not None:
        found = await _get_known(cache, client, key, names)
        if found is not None:
            return found
    call = _evaluate(
        client, _GET, [cache.make_key(key), _counter_key(cache)], [_version_prefix(cache)]
    )
    payload, counter, *header = await cache.run(call, (None, b"-1"))
    if header:
        _remember(known, key, header[0].split(b"\t")[::2][:-1])
    if payload is None:
        cache.misses += 1
        _last_miss.set((cache, int(counter)))
        return False, None
    cache.hits += 1
    try:
        value = cache.codec.decode(payload)
    except CodecError as error:
        cache.hits -= 1
        cache.misses += 1
        logger.warning("Cache %r: the entry %r is a miss: %s", cache.alias, key, error)
        return False, None
    if current_listeners():  # a tracked computation uses the value: it read those tables
        note_read(header[0].decode().split("\t")[::2][:-1])
    return True, value


async def _get_known(
    cache: Cache, client: Any, key: str, names: list[bytes]
) -> tuple[bool, Any] | None:
    """get_fresh() of an entry whose tables this process knows (it stored the entry, or
    read it before): one plain MGET of the entry, the counter and those tables' versions,
    compared here. None when the entry lists other tables (the script decides then)."""
    prefix = _version_prefix(cache).encode()
    reply = await cache.run(
        client.mget(cache.make_key(key), _counter_key(cache), *[prefix + n for n in names]),
        None,
    )
    if reply is None:
        cache.misses += 1
        _last_miss.set((cache, -1))
        return False, None
    entry, counter, *now = reply
    if entry is not None and entry[:4] == b"AKV1":
        size = int(entry[4:12])
        header = entry[12 : 12 + size].split(b"\t")
        if header[::2][:-1] != names:
            return None
        wanted = header[1::2]
        if all((version or b"0") == wanted[index] for index, version in enumerate(now)):
            cache.hits += 1
            try:
                value = cache.codec.decode(entry[12 + size :])
            except CodecError as error:
                cache.hits -= 1
                cache.misses += 1
                logger.warning("Cache %r: the entry %r is a miss: %s", cache.alias, key, error)
                return False, None
            if current_listeners():  # a tracked computation uses the value
                note_read([name.decode() for name in names])
            return True, value
    cache.misses += 1
    _last_miss.set((cache, int(counter or 0)))
    return False, None


def _known_tables(cache: Cache) -> dict[str, list[bytes]]:
    known = _known.get(cache)
    if known is None:
        known = _known[cache] = {}
    return known


def _remember(known: dict[str, list[bytes]], key: str, names: list[bytes]) -> None:
    if len(known) >= _KNOWN_LIMIT:
        known.clear()  # a bound, not a cache policy: the script path rebuilds what is read
    known[key] = names


async def _get_local(cache: Cache, key: str) -> tuple[bool, Any]:
    state = _local(cache)
    entry = await cache.get(key)
    if type(entry) is list and len(entry) == 3:
        counter, versions, value = entry
        if counter != state.counter:  # else no write at all since it was stored
            tables = state.tables
            for index in range(0, len(versions), 2):
                if tables.get(versions[index], 0) != versions[index + 1]:
                    break
            else:
                counter = state.counter
        if counter == state.counter:
            if current_listeners():  # a tracked computation uses the value
                note_read(versions[::2])
            return True, value
        cache.hits -= 1  # stale: counted as found by get()
        cache.misses += 1
    _last_miss.set((cache, state.counter))
    return False, None


async def set_fresh(
    cache: Cache, key: str, value: Any, tables: Iterable[str], token: int, ttl: float | None
) -> bool:
    """Store *value* under *key* with the versions of *tables*; False (nothing stored)
    when a write to one of them committed since *token* was taken."""
    names = sorted({*tables, EVERY_TABLE})
    if token < 0:
        return False
    client = cache.redis
    if client is None:
        state = _local(cache)
        current = state.tables
        versions: list[Any] = []
        for name in names:
            version = current.get(name, 0)
            if version > token:
                return False
            versions += (name, version)
        # [counter, [name, version, ...], value]: while the counter has not moved the
        # entry is fresh without looking at its tables.
        await cache.set(key, [state.counter, versions, value], ttl=ttl)
        return True
    seconds = cache.default_ttl if ttl is None else ttl
    milliseconds = 0 if seconds is None else max(1, round(seconds * 1000))
    call = _evaluate(
        client,
        _SET,
        [cache.make_key(key), _counter_key(cache)],
        [_version_prefix(cache), token, milliseconds, cache.codec.encode(value), *names],
    )
    stored = bool(await cache.run(call, 0))
    cache.sets += stored
    if stored:
        _remember(_known_tables(cache), key, [name.encode() for name in names])
    return stored


async def bump(cache: Cache | None, tables: Iterable[str]) -> None:
    """Make stale every entry computed from *tables* in *cache* (None: every open cache);
    what a committed write does. One script call per Redis cache; failures are logged."""
    names = list(dict.fromkeys(tables))
    for target in [cache] if cache is not None else _open_caches():
        client = target.redis
        if client is None:
            state = _locals.get(target)
            if state is None:
                continue  # nothing was ever computed against it: nothing to make stale
            state.counter += 1
            for name in names:
                state.tables[name] = state.counter
            continue
        prefix = _version_prefix(target)
        call = _evaluate(
            client, _BUMP, [_counter_key(target), *(prefix + name for name in names)], []
        )
        await target.run(call, None)


def _open_caches() -> list[Cache]:
    """The caches a write must invalidate: every cache the registry has built."""
    return caches.all()


async def _announce(tables: frozenset[str]) -> None:
    await bump(None, tables)


add_write_hook(_announce)
