"""OpenAPI 3.1 documents generated from routers, viewsets and serializers, served at
``/openapi.json`` with a Swagger UI page at ``/docs`` (see :class:`aksara.Aksara`)."""

from aksara.api.openapi.components import Components
from aksara.api.openapi.docs import docs_page, openapi_routes
from aksara.api.openapi.generator import SchemaGenerator
from aksara.api.openapi.security import Protection, protection_of

__all__ = [
    "Components",
    "Protection",
    "SchemaGenerator",
    "docs_page",
    "openapi_routes",
    "protection_of",
]
