"""Caching: ``cache`` (the default cache), ``caches[alias]``, the memory and Redis backends.

Configured by the ``CACHE`` setting; every operation fails open (a backend outage is a miss).
"""

from aksara.cache.backends.base import Cache
from aksara.cache.codec import CacheValueError, CodecError
from aksara.cache.registry import cache, caches
from aksara.cache.stats import CacheStats

__all__ = ["Cache", "CacheStats", "CacheValueError", "CodecError", "cache", "caches"]
