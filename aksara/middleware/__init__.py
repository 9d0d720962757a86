"""ASGI middleware the Aksara app installs from settings: compression and request timing."""

from aksara.middleware.compression import CompressionMiddleware
from aksara.middleware.timing import ServerTimingMiddleware

__all__ = ["CompressionMiddleware", "ServerTimingMiddleware"]
