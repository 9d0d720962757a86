"""The Django settings of the stack, built in code from the benchmark's environment variables.

Production settings: ``DEBUG`` off, PostgreSQL through psycopg 3 with psycopg's connection
pool (``OPTIONS["pool"]``, Django 5.1+; Django's docs recommend a pool over persistent
connections under ASGI), JSON-only rendering and parsing, no authentication.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["PACKAGE", "from_environment"]

PACKAGE = "benchmarks.http.stacks.django_drf"


def _database(url: str, pool_size: int) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for a ``postgresql://`` URL, with the pool sized."""
    parts = urlsplit(url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        # A pooled connection goes back to the pool at the end of each request; Django
        # refuses CONN_MAX_AGE other than 0 with a pool.
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"pool": {"min_size": 1, "max_size": pool_size}},
    }


def from_environment() -> dict[str, Any]:
    """The settings for ``settings.configure()``, read from the ``BENCH_HTTP_*`` variables."""
    pool_size = int(os.environ.get("BENCH_HTTP_POOL_SIZE", "10"))
    return {
        "DEBUG": False,
        "SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", secrets.token_urlsafe(50)),
        "ALLOWED_HOSTS": ["127.0.0.1", "localhost"],
        "ROOT_URLCONF": f"{PACKAGE}.urls",
        "INSTALLED_APPS": ["rest_framework", PACKAGE],
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        "DATABASES": {"default": _database(os.environ["BENCH_HTTP_DATABASE_URL"], pool_size)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                # The fortunes page every stack renders, in Django's template syntax too.
                "DIRS": [Path(__file__).parents[2] / "templates"],
            }
        ],
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "REST_FRAMEWORK": {
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
            "UNAUTHENTICATED_USER": None,
            "EXCEPTION_HANDLER": f"{PACKAGE}.views.exception_handler",
        },
    }
