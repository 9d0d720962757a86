"""Aksara's REST layer: routers, viewsets, serializers and pagination on Starlette."""

from aksara.api import serializers
from aksara.api.authentication import (
    BaseAuthentication,
    BasicAuthentication,
    SessionAuthentication,
    StatelessTokenAuthentication,
    TokenAuthentication,
)
from aksara.api.errors import (
    APIError,
    AuthenticationFailed,
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
from aksara.api.permissions import (
    AllowAny,
    BasePermission,
    IsAdminUser,
    IsAuthenticated,
    IsAuthenticatedOrReadOnly,
)
from aksara.api.responses import Response
from aksara.api.routing import Router
from aksara.api.serializers import ModelSerializer, Serializer, SerializerMethodField
from aksara.api.tokens import SessionViewSet, TokenViewSet
from aksara.api.viewsets import (
    GenericViewSet,
    ModelViewSet,
    ReadOnlyModelViewSet,
    ViewSet,
    action,
)

__all__ = [
    "APIError",
    "AllowAny",
    "AuthenticationFailed",
    "BaseAuthentication",
    "BasePermission",
    "BasicAuthentication",
    "Conflict",
    "FieldSelectionError",
    "GenericViewSet",
    "IsAdminUser",
    "IsAuthenticated",
    "IsAuthenticatedOrReadOnly",
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
    "SessionAuthentication",
    "SessionViewSet",
    "StatelessTokenAuthentication",
    "TokenAuthentication",
    "TokenViewSet",
    "UnsupportedMediaType",
    "ValidationFailed",
    "ViewSet",
    "action",
    "explain_plan",
    "serializers",
]
