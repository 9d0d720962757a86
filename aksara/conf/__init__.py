"""Settings: the ``AKSARA`` dict of a settings module, overridable with :func:`configure`.

The module is named by the ``AKSARA_SETTINGS_MODULE`` environment variable; without it a
module named ``settings`` is used when one can be imported. Every key is validated when it
is read or configured, so a misspelt key or a bad value fails at once with the valid names.

Each concern's settings, their validators and defaults, live in a module of this package:
:mod:`~aksara.conf.databases`, :mod:`~aksara.conf.queries`, :mod:`~aksara.conf.serving`,
:mod:`~aksara.conf.caching` and :mod:`~aksara.conf.security`, built from the generic checks
of :mod:`~aksara.conf.values`; :mod:`~aksara.conf.loading` gathers them into one table.
"""

from __future__ import annotations

from typing import Any

from aksara.conf.caching import CACHE_BACKENDS, CACHE_DEFAULTS
from aksara.conf.databases import MIGRATIONS_DEFAULTS, POOL_DEFAULTS
from aksara.conf.loading import Settings
from aksara.conf.queries import RELATION_LOADING_MODES
from aksara.conf.security import (
    PASSWORD_HASHER_DEFAULTS,
    SESSION_DEFAULTS,
    TOKEN_ALGORITHMS,
    TOKEN_DEFAULTS,
)
from aksara.conf.serving import COMPRESSION_DEFAULTS, HEALTH_DEFAULTS, METRICS_DEFAULTS
from aksara.conf.values import mask_url

__all__ = [
    "CACHE_BACKENDS",
    "CACHE_DEFAULTS",
    "COMPRESSION_DEFAULTS",
    "HEALTH_DEFAULTS",
    "METRICS_DEFAULTS",
    "MIGRATIONS_DEFAULTS",
    "PASSWORD_HASHER_DEFAULTS",
    "POOL_DEFAULTS",
    "RELATION_LOADING_MODES",
    "SESSION_DEFAULTS",
    "TOKEN_ALGORITHMS",
    "TOKEN_DEFAULTS",
    "Settings",
    "configure",
    "mask_url",
    "settings",
]

# Not public: names imported from here since settings were one module.
from aksara.conf.databases import _database_pool as _database_pool
from aksara.conf.loading import _DEFAULTS as _DEFAULTS
from aksara.conf.loading import _VALIDATORS as _VALIDATORS
from aksara.conf.loading import _validate as _validate
from aksara.exceptions import ConfigurationError as ConfigurationError

settings = Settings()


def configure(**keys: Any) -> None:
    """Override settings in code, e.g. ``configure(DATABASE_URL="sqlite:///:memory:")``."""
    settings.configure(**keys)
