"""Caching: ``cache`` (the default cache), ``caches[alias]``, the memory and Redis backends,
``@cached`` for async functions and ``@cache_response`` for endpoints.

Configured by the ``CACHE`` setting; every operation fails open (a backend outage is a miss).
"""

from aksara.cache import versions  # registers the write hook: committed writes bump versions
from aksara.cache.backends.base import Cache
from aksara.cache.codec import CacheValueError, CodecError
from aksara.cache.decorators import cached
from aksara.cache.keys import CacheKeyError
from aksara.cache.registry import cache, caches
from aksara.cache.responses import cache_response
from aksara.cache.stats import CacheStats
from aksara.cache.tracking import tracking

__all__ = [
    "Cache",
    "CacheKeyError",
    "CacheStats",
    "CacheValueError",
    "CodecError",
    "cache",
    "cache_response",
    "cached",
    "caches",
    "tracking",
    "versions",
]
