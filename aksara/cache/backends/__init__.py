"""Cache backends: ``memory`` (per process) and ``redis`` (shared by every process)."""

from aksara.cache.backends.base import Cache
from aksara.cache.backends.memory import MemoryCache

__all__ = ["Cache", "MemoryCache"]
