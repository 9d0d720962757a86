"""What a viewset's authentication, permission and throttle classes say about its
operations: the security schemes (``openapi_security_scheme()`` of each authentication
class) and which of 401, 403 and 429 it may answer.

The classes are resolved as the request flow resolves them: the view's
``get_authenticators()`` / ``get_permissions()`` / ``get_throttles()`` when it has them,
else its ``authentication_classes`` / ``permission_classes`` / ``throttle_classes``, else
the ``AUTHENTICATION`` / ``PERMISSIONS`` / ``THROTTLES`` settings where they exist. Entries
may be classes, instances or dotted paths.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from aksara.conf import settings
from aksara.exceptions import ConfigurationError

__all__ = ["SAFE_METHODS", "Protection", "protection_of"]

#: Methods that only read (a permission "or read-only" lets anyone send them).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Permission classes that let every request through. A class whose name ends in
#: ``OrReadOnly`` (``IsAuthenticatedOrReadOnly``) is taken to let safe methods through.
_OPEN = frozenset({"AllowAny"})


@dataclass(frozen=True)
class Protection:
    """The security facts of one viewset (and action)."""

    #: Scheme name -> OpenAPI securityScheme object, in the order the classes are tried.
    schemes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Names of the permission classes other than AllowAny.
    permissions: tuple[str, ...] = ()
    #: Whether every permission lets reads through (``IsAuthenticatedOrReadOnly``).
    open_for_reads: bool = False
    throttled: bool = False

    def security(self, method: str) -> list[dict[str, list[str]]] | None:
        """The operation's ``security`` list: any one scheme, or none (``{}``) when anyone
        may call it; None without authentication classes."""
        if not self.schemes:
            return None
        requirements: list[dict[str, list[str]]] = [{name: []} for name in self.schemes]
        if not self.permissions or (self.open_for_reads and method in SAFE_METHODS):
            requirements.append({})
        return requirements

    def statuses(self, method: str) -> list[int]:
        """The refusal statuses the operation may answer: 401, 403, 429."""
        found: list[int] = []
        if self.schemes:
            # Anonymous where credentials are needed, or credentials that are not valid
            # (refused even where anyone may call).
            found.append(401)
        if self.permissions:
            found.append(403)
        if self.throttled:
            found.append(429)
        return found


def _load(entry: Any) -> Any:
    """A class or instance from *entry*, importing a dotted path."""
    if isinstance(entry, str):
        module, _, name = entry.rpartition(".")
        return getattr(importlib.import_module(module), name)
    return entry


def _setting(name: str) -> Any:
    """The setting *name*, or None where this version has no such setting."""
    try:
        return getattr(settings, name)
    except (AttributeError, ConfigurationError):
        return None


def _instances(view: Any, method: str, attribute: str, setting: str) -> list[Any]:
    getter = getattr(view, method, None)
    if callable(getter):
        try:
            return list(getter())
        except Exception:  # a getter that needs a live request: fall back to the attribute
            pass
    entries = getattr(view, attribute, None)
    if entries is None:
        entries = _setting(setting)
    found: list[Any] = []
    for entry in entries or ():
        loaded = _load(entry)
        found.append(loaded() if isinstance(loaded, type) else loaded)
    return found


def _names(permission: Any) -> set[str]:
    """The class names a permission is made of (composed ones list their operands)."""
    names = {type(permission).__name__}
    for attribute in ("op1", "op2", "first", "second", "left", "right", "permission"):
        inner = getattr(permission, attribute, None)
        if inner is not None and not isinstance(inner, str | int | bool):
            names |= _names(inner)
    return names


def protection_of(view: Any) -> Protection:
    """The security facts of *view* (an instance with ``action`` set)."""
    schemes: dict[str, dict[str, Any]] = {}
    for authenticator in _instances(
        view, "get_authenticators", "authentication_classes", "AUTHENTICATION"
    ):
        describe = getattr(authenticator, "openapi_security_scheme", None)
        if not callable(describe):
            continue
        described = describe()
        if described:
            name, scheme = described
            schemes[str(name)] = dict(scheme)
    permissions: list[str] = []
    open_for_reads = True
    for permission in _instances(view, "get_permissions", "permission_classes", "PERMISSIONS"):
        name = type(permission).__name__
        if name in _OPEN:
            continue
        permissions.append(name)
        # Every permission must let reads through for a read to need no credentials.
        open_for_reads = open_for_reads and any(
            inner.endswith("OrReadOnly") for inner in _names(permission)
        )
    open_for_reads = open_for_reads and bool(permissions)
    throttled = bool(_instances(view, "get_throttles", "throttle_classes", "THROTTLES"))
    return Protection(schemes, tuple(permissions), open_for_reads, throttled)
