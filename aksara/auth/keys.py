"""The secret that signs tokens and session cookies: ``SECRET_KEY``.

Without one, production refuses to start signing; under ``DEBUG`` a random key is made for
the process (logged as a warning): tokens and cookies then die with the process and are not
shared by several workers.
"""

from __future__ import annotations

import logging
import secrets

from aksara.conf import settings
from aksara.exceptions import ConfigurationError

__all__ = ["get_secret_key"]

logger = logging.getLogger("aksara.auth")

_process_key: str | None = None


def get_secret_key() -> str:
    """``SECRET_KEY``; under ``DEBUG`` without one, a random key for this process."""
    global _process_key
    key: str | None = settings.SECRET_KEY
    if key is not None:
        return key
    if not settings.DEBUG:
        raise ConfigurationError(
            "SECRET_KEY is not set: tokens and session cookies cannot be signed. Set it to a "
            "long random string kept out of version control (secrets.token_urlsafe(50))."
        )
    if _process_key is None:
        _process_key = secrets.token_urlsafe(50)
        logger.warning(
            "SECRET_KEY is not set: signing with a random key for this process only (DEBUG). "
            "Tokens and sessions end when it stops and are not shared between workers."
        )
    return _process_key
