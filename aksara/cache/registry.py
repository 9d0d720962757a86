"""``caches``: the configured caches by alias, built on first use from the ``CACHE``
setting; ``cache``: the default one."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any, cast

from aksara.cache.backends.base import Cache
from aksara.conf import settings
from aksara.exceptions import ConfigurationError, suggest

__all__ = ["BACKENDS", "CacheHandler", "cache", "caches"]

#: The class of each backend name, imported when a cache of that kind is first built.
BACKENDS = {
    "memory": "aksara.cache.backends.memory.MemoryCache",
    "redis": "aksara.cache.backends.redis.RedisCache",
}


def _build(alias: str, options: dict[str, Any]) -> Cache:
    module_name, _, class_name = BACKENDS[options["backend"]].rpartition(".")
    backend: type[Cache] = getattr(importlib.import_module(module_name), class_name)
    return backend(alias, options)


class CacheHandler:
    """``caches["default"]``, ``caches["other"]``: one :class:`Cache` per alias of the
    ``CACHE`` setting, per process. Changing the setting builds them anew."""

    def __init__(self) -> None:
        self._caches: dict[str, Cache] = {}
        self._config: dict[str, dict[str, Any]] | None = None
        # Caches of an older setting, still to be closed.
        self._retired: list[Cache] = []

    def _configuration(self) -> dict[str, dict[str, Any]]:
        config: dict[str, dict[str, Any]] = settings.CACHE
        if config is not self._config:
            self._retired.extend(self._caches.values())
            self._caches = {}
            self._config = config
        return config

    def __getitem__(self, alias: str) -> Cache:
        config = self._configuration()
        found = self._caches.get(alias)
        if found is None:
            options = config.get(alias)
            if options is None:
                raise ConfigurationError(
                    f"No cache {alias!r} in the CACHE setting.{suggest(alias, config)} "
                    f"Configured caches: {', '.join(sorted(config))}."
                )
            found = self._caches[alias] = _build(alias, options)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._configuration())

    def all(self) -> list[Cache]:
        """Every configured cache (built now if it was not yet)."""
        return [self[alias] for alias in self._configuration()]

    async def open_all(self) -> None:
        """Open every configured cache (the app's lifespan does this at startup)."""
        for item in self.all():
            await item.open()

    async def close_all(self) -> None:
        """Close every cache built so far; they reopen on next use."""
        caches, self._retired = [*self._retired, *self._caches.values()], []
        for item in caches:
            await item.close()

    def metrics(self) -> dict[str, dict[str, Any]]:
        """Each configured cache's counters and hit ratio, by alias."""
        return {
            item.alias: {"backend": item.backend, **item.stats().as_dict()} for item in self.all()
        }


class _DefaultCache:
    """Stands for ``caches["default"]``, looked up at each use so settings changes apply."""

    # __getattribute__, not __getattr__: every name is the cache's, and skipping the failed
    # lookup first halves the cost of ``cache.get`` on a memory hit.
    def __getattribute__(self, name: str) -> Any:
        return getattr(caches["default"], name)

    def __repr__(self) -> str:
        return f"<default cache {caches['default']!r}>"

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Set {name!r} on caches['default'], not on the cache proxy.")


caches = CacheHandler()
#: The default cache: ``await cache.get(key)``, ``await cache.set(key, value, ttl=60)``.
cache = cast(Cache, _DefaultCache())
