"""``@cached``: an async function's result kept in a cache, keyed by its arguments, computed
once for concurrent misses, and stale after a committed write to a table it read."""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from aksara.cache import entries
from aksara.cache.flight import Flights, cross_process_lock
from aksara.cache.keys import KeyMaker
from aksara.cache.registry import caches
from aksara.cache.tracking import ReadTables, tracking
from aksara.cache.versions import get_fresh
from aksara.conf import settings
from aksara.db.events import current_listeners
from aksara.db.transaction import in_atomic_block

if TYPE_CHECKING:
    from aksara.cache.backends.base import Cache

__all__ = ["CachedFunction", "FunctionStats", "cached", "function_metrics"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class FunctionStats:
    """The counters of one ``@cached`` function in this process."""

    hits: int = 0
    misses: int = 0
    #: Computations run (concurrent misses of one key share one).
    computations: int = 0
    sets: int = 0
    invalidations: int = 0
    #: Computations that raised (their error is not cached).
    errors: int = 0

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups, 0.0 before the first."""
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The counters and the hit ratio, for metrics."""
        return {**asdict(self), "hit_ratio": self.hit_ratio}


#: Every @cached function of the process (for metrics), forgotten when it is collected.
_functions: weakref.WeakSet[CachedFunction[..., Any]] = weakref.WeakSet()


def function_metrics() -> dict[str, dict[str, Any]]:
    """Each @cached function's counters in this process, by qualified name."""
    return {
        function.keys.name: function.stats().as_dict()
        for function in sorted(_functions, key=lambda function: function.keys.name)
    }


class CachedFunction(Generic[P, R]):
    """An async function behind a cache; call it as the function. ``invalidate(*args)``
    drops one call's entry, ``invalidate_all()`` every entry, ``stats()`` counts."""

    def __init__(
        self,
        function: Callable[P, Awaitable[R]],
        ttl: float,
        key: str | Callable[..., Any] | None,
        cache: str,
        invalidate_on_write: bool,
    ) -> None:
        if not inspect.iscoroutinefunction(function):
            raise TypeError(f"@cached takes an async function, not {function!r}.")
        self.function = function
        self.ttl = ttl
        self.alias = cache
        self.invalidate_on_write = invalidate_on_write
        self.keys = KeyMaker(function, key)
        self.generation = f"cached:{self.keys.name}:generation"
        self.flights = Flights()
        self._stats = FunctionStats()
        # The key of a function without arguments to key on, made once.
        self._constant_key = f"cached:{self.keys.name}:" if self.keys.is_constant else None
        self._config: Any = None
        self._cache: Cache | None = None
        functools.update_wrapper(self, function)
        _functions.add(self)

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return BoundCachedFunction(self, instance)

    @property
    def cache(self) -> Cache:
        """The cache this function's entries live in."""
        # Looked up again only when the CACHE setting changes (caches are rebuilt then).
        config = settings.CACHE
        cache = self._cache
        if config is not self._config or cache is None:
            cache = self._cache = caches[self.alias]
            self._config = config
        return cache

    def key(self, *args: Any, **kwargs: Any) -> str:
        """The cache key of a call with these arguments."""
        return f"cached:{self.keys.name}:{self.keys(args, kwargs)}"

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        key = self._constant_key or self.key(*args, **kwargs)
        cache = self.cache
        # Inside a transaction the function may see writes not committed (or later rolled
        # back): neither served from the cache nor stored in it.
        if in_atomic_block():
            return await self.function(*args, **kwargs)
        if is_tracked():
            # An outer @cached computation must see the tables this call reads, which a hit
            # would hide from it: compute here (and store for the others).
            return await self._compute(cache, key, args, kwargs)
        found, value = await get_fresh(cache, key)
        stats = self._stats
        if found:
            stats.hits += 1
            return value  # type: ignore[no-any-return]
        stats.misses += 1
        result, _ = await self.flights.run(key, lambda: self._fill(cache, key, args, kwargs))
        return result

    async def _fill(self, cache: Cache, key: str, args: Any, kwargs: Any) -> R:
        """Compute the value of *key* (once across processes when Redis lets us) and store it."""

        async def ready() -> tuple[bool, Any]:
            return await get_fresh(cache, key)

        found, value, release = await cross_process_lock(cache, key, ready)
        if found:
            return value  # type: ignore[no-any-return]
        try:
            return await self._compute(cache, key, args, kwargs)
        finally:
            if release is not None:
                await release()

    async def _compute(self, cache: Cache, key: str, args: Any, kwargs: Any) -> R:
        """Run the function, tracking the tables it reads, and store its result."""
        token = await entries.begin(cache)
        self._stats.computations += 1
        try:
            with _tracking(self.invalidate_on_write) as read:
                value = await self.function(*args, **kwargs)
        except BaseException:
            self._stats.errors += 1
            raise
        tables = _tables_of(read)
        if tables is not None and await entries.store(
            cache, key, value, self.generation, token, tables, self.ttl
        ):
            self._stats.sets += 1
        return value

    async def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Drop the entry of the call with these arguments."""
        self._stats.invalidations += 1
        await self.cache.delete(self.key(*args, **kwargs))

    async def invalidate_all(self) -> None:
        """Make every entry of this function stale, in every process (no key scan)."""
        self._stats.invalidations += 1
        await entries.bump(self.cache, self.generation)

    def stats(self) -> FunctionStats:
        """This function's counters in this process."""
        return self._stats


class BoundCachedFunction:
    """A ``@cached`` method bound to its instance."""

    def __init__(self, cached: CachedFunction[..., Any], instance: Any) -> None:
        self.cached = cached
        self.instance = instance

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return await self.cached(self.instance, *args, **kwargs)

    async def invalidate(self, *args: Any, **kwargs: Any) -> None:
        """Drop the entry of the call with these arguments."""
        await self.cached.invalidate(self.instance, *args, **kwargs)

    async def invalidate_all(self) -> None:
        """Make every entry of this method stale."""
        await self.cached.invalidate_all()

    def stats(self) -> FunctionStats:
        """The method's counters."""
        return self.cached.stats()


def _tracking(enabled: bool) -> Any:
    """The tracker of the tables the computation reads (nothing to track when disabled)."""
    return tracking() if enabled else nullcontext(None)


def is_tracked() -> bool:
    """Whether the current context's queries are tracked for a cache entry being computed."""
    return any(type(listener) is ReadTables for listener in current_listeners())


def _tables_of(read: Any) -> frozenset[str] | None:
    """The tables a stored value depends on, or None when it must not be stored."""
    if read is None:
        return frozenset()
    if read.unknown:
        return None
    return frozenset(read.tables)


@overload
def cached(ttl: Callable[P, Awaitable[R]], /) -> CachedFunction[P, R]: ...


@overload
def cached(
    ttl: float = 300,
    *,
    key: str | Callable[..., Any] | None = None,
    cache: str = "default",
    invalidate_on_write: bool = True,
) -> Callable[[Callable[P, Awaitable[R]]], CachedFunction[P, R]]: ...


def cached(
    ttl: Any = 300,
    *,
    key: str | Callable[..., Any] | None = None,
    cache: str = "default",
    invalidate_on_write: bool = True,
) -> Any:
    """Cache an async function's results for *ttl* seconds: ``@cached(ttl=300)``. The key is
    the function's name and arguments, or *key* (``"post:{post_id}"`` or a callable)."""
    if callable(ttl):
        return CachedFunction(ttl, 300, key, cache, invalidate_on_write)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        raise TypeError(f"@cached(ttl=) takes a number of seconds above 0, not {ttl!r}.")

    def decorate(function: Callable[P, Awaitable[R]]) -> CachedFunction[P, R]:
        return CachedFunction(function, float(ttl), key, cache, invalidate_on_write)

    return decorate
