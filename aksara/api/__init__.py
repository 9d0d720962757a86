"""Aksara's REST layer: routers, viewsets, serializers and pagination on Starlette."""

from aksara.api import serializers
from aksara.api.errors import (
    APIError,
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
from aksara.api.serializers import ModelSerializer, Serializer, SerializerMethodField

__all__ = [
    "APIError",
    "FieldSelectionError",
    "MethodNotAllowed",
    "ModelSerializer",
    "NotAuthenticated",
    "NotFound",
    "ParseError",
    "PayloadTooLarge",
    "PermissionDenied",
    "Serializer",
    "SerializerMethodField",
    "UnsupportedMediaType",
    "ValidationFailed",
    "explain_plan",
    "serializers",
]
