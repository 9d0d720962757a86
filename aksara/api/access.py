"""Authentication and permission checks of a viewset, run where DRF's ``initial()`` runs
them: before the action's handler, for standard actions and ``@action``s alike.

The router decides once per route whether a viewset checks anything (see
:func:`is_guarded`); a viewset with no authentication classes and only ``AllowAny`` pays
for neither per request, and its ``request.user`` is an ``AnonymousUser``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from starlette.requests import Request

from aksara.api.errors import NotAuthenticated, PermissionDenied
from aksara.api.permissions import AllowAny, check
from aksara.auth.models import AnonymousUser
from aksara.conf import settings
from aksara.exceptions import ConfigurationError

__all__ = ["ANONYMOUS", "AccessMixin", "is_guarded", "resolve_classes"]

#: The ``request.user`` of every request nobody authenticated (it holds no state).
ANONYMOUS = AnonymousUser()


@functools.lru_cache(maxsize=256)
def _import(path: str, setting: str) -> Any:
    module_name, _, name = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as error:
        raise ConfigurationError(
            f"{setting} names {path!r}, which cannot be imported: {error}"
        ) from None


def resolve_classes(classes: Sequence[Any], setting: str) -> list[Any]:
    """*classes* with dotted paths imported (``"aksara.api.permissions.AllowAny"``)."""
    return [_import(item, setting) if isinstance(item, str) else item for item in classes]


class AccessMixin:
    """``authentication_classes`` and ``permission_classes`` (None: the ``AUTHENTICATION``
    and ``PERMISSIONS`` settings) with DRF's hooks to override."""

    authentication_classes: ClassVar[Sequence[Any] | None] = None
    permission_classes: ClassVar[Sequence[Any] | None] = None
    #: Set by the router when this view checks access (its object permissions too).
    access_checked: bool = False
    #: The authenticator that recognized the request's credentials, if one did.
    successful_authenticator: Any = None

    def get_authenticators(self) -> list[Any]:
        """Instances of the authentication classes, tried in order."""
        classes = self.authentication_classes
        if classes is None:
            classes = settings.AUTHENTICATION
        return [cls() for cls in resolve_classes(classes, "AUTHENTICATION")]

    def get_permissions(self) -> list[Any]:
        """Instances of the permission classes, all of which must allow."""
        classes = self.permission_classes
        if classes is None:
            classes = settings.PERMISSIONS
        return [cls() for cls in resolve_classes(classes, "PERMISSIONS")]

    async def perform_authentication(self, request: Request) -> None:
        """Set ``request.user`` and ``request.auth`` (``request.state`` too) from the first
        authenticator that recognizes the request; wrong credentials are refused."""
        user: Any = ANONYMOUS
        auth: Any = None
        authenticators = self.get_authenticators()
        for authenticator in authenticators:
            try:
                result = authenticator.authenticate(request)
                if inspect.isawaitable(result):
                    result = await result
            except NotAuthenticated as error:
                raise self.refusal(request, error, authenticators) from None
            if result is not None:
                user, auth = result
                self.successful_authenticator = authenticator
                break
        scope = request.scope
        scope["user"] = user
        scope["auth"] = auth
        state = scope.setdefault("state", {})
        state["user"] = user
        state["auth"] = auth

    async def check_permissions(self, request: Request) -> None:
        """Refuse the request unless every permission's ``has_permission`` allows it."""
        for permission in self.get_permissions():
            if not await check(permission.has_permission(request, self)):
                self.permission_denied(request, getattr(permission, "message", None))

    async def check_object_permissions(self, request: Request, obj: Any) -> None:
        """Refuse the request unless every permission's ``has_object_permission`` allows
        it on *obj* (``get_object()`` calls this)."""
        for permission in self.get_permissions():
            if not await check(permission.has_object_permission(request, self, obj)):
                self.permission_denied(request, getattr(permission, "message", None))

    def permission_denied(self, request: Request, message: str | None = None) -> None:
        """Raise the refusal: 401 (or 403) when authentication was possible but nobody
        authenticated, else a 403 with *message*."""
        if self.successful_authenticator is None:
            authenticators = self.get_authenticators()
            if authenticators:
                raise self.refusal(request, NotAuthenticated(), authenticators)
        raise PermissionDenied(message)

    def refusal(
        self, request: Request, error: NotAuthenticated, authenticators: Sequence[Any]
    ) -> Exception:
        """*error* as DRF answers it: a 401 with the first authenticator's
        ``WWW-Authenticate``, or a 403 when that one names no scheme."""
        header = authenticators[0].authenticate_header(request) if authenticators else None
        if header is None:
            return PermissionDenied(error.detail)
        error.headers["WWW-Authenticate"] = header
        return error


_HOOKS = (
    "get_authenticators",
    "get_permissions",
    "perform_authentication",
    "check_permissions",
    "check_object_permissions",
)


def is_guarded(viewset: type[AccessMixin], attributes: Mapping[str, Any]) -> bool:
    """Whether requests to *viewset* (with an ``@action``'s *attributes*) need access
    checks: authentication classes, a permission other than ``AllowAny``, or an overridden
    hook. Settings are read when the route is built."""
    for name in _HOOKS:
        if getattr(viewset, name) is not getattr(AccessMixin, name):
            return True
    authentication = attributes.get("authentication_classes", viewset.authentication_classes)
    if authentication is None:
        authentication = settings.AUTHENTICATION
    if authentication:
        return True
    permissions = attributes.get("permission_classes", viewset.permission_classes)
    if permissions is None:
        permissions = settings.PERMISSIONS
    return any(cls is not AllowAny for cls in resolve_classes(permissions, "PERMISSIONS"))
