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
    RequestTimeout,
    Throttled,
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
from aksara.api.throttling import (
    AnonRateThrottle,
    BaseThrottle,
    ScopedRateThrottle,
    UserRateThrottle,
)
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
    "AnonRateThrottle",
    "AuthenticationFailed",
    "BaseAuthentication",
    "BasePermission",
    "BaseThrottle",
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
    "RequestTimeout",
    "Response",
    "Router",
    "SchemaGenerator",
    "ScopedRateThrottle",
    "Serializer",
    "SerializerMethodField",
    "SessionAuthentication",
    "SessionViewSet",
    "StatelessTokenAuthentication",
    "Throttled",
    "TokenAuthentication",
    "TokenViewSet",
    "UnsupportedMediaType",
    "UserRateThrottle",
    "ValidationFailed",
    "ViewSet",
    "action",
    "explain_plan",
    "serializers",
]
