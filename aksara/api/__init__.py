"""Aksara's REST layer: routers, viewsets, serializers and pagination on Starlette."""

from aksara.api import serializers
from aksara.api.errors import (
    APIError,
    Conflict,
    FieldSelectionError,
    MethodNotAllowed,
    NotAuthenticated,
    NotFound,
    ParseError,
    PayloadTooLarge,
    PermissionDenied,
    UnsupportedMediaType,
    ValidationFailed,
)
from aksara.api.explain import explain_plan
from aksara.api.openapi import SchemaGenerator
from aksara.api.responses import Response
from aksara.api.routing import Router
from aksara.api.serializers import ModelSerializer, Serializer, SerializerMethodField
from aksara.api.viewsets import (
    GenericViewSet,
    ModelViewSet,
    ReadOnlyModelViewSet,
    ViewSet,
    action,
)

__all__ = [
    "APIError",
    "Conflict",
    "FieldSelectionError",
    "GenericViewSet",
    "MethodNotAllowed",
    "ModelSerializer",
    "ModelViewSet",
    "NotAuthenticated",
    "NotFound",
    "ParseError",
    "PayloadTooLarge",
    "PermissionDenied",
    "ReadOnlyModelViewSet",
    "Response",
    "Router",
    "SchemaGenerator",
    "Serializer",
    "SerializerMethodField",
    "UnsupportedMediaType",
    "ValidationFailed",
    "ViewSet",
    "action",
    "explain_plan",
    "serializers",
]
