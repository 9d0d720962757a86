"""The peer stack Django + Django REST framework, served over ASGI.

``uvicorn --factory benchmarks.http.stacks.django_drf:app``; the database comes from
``BENCH_HTTP_DATABASE_URL``, the pool size from ``BENCH_HTTP_POOL_SIZE`` (default 10).

Settings are configured in code (``settings.py``, no ``manage.py``); the models are unmanaged
and mapped onto the existing tables; the REST endpoints are a ``ModelViewSet`` and a
``ListAPIView`` with DRF's paginators, the TechEmpower ones ``@api_view`` functions and a
Django template. DRF's views are synchronous: under ASGI Django runs each in its one
thread-sensitive executor thread.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app"]


def app() -> Any:
    """The ASGI app (``get_asgi_application()``), settings configured from the environment."""
    from django.conf import settings

    from benchmarks.http.stacks.django_drf import settings as stack_settings

    if not settings.configured:
        settings.configure(**stack_settings.from_environment())
    from django.core.asgi import get_asgi_application

    return get_asgi_application()
