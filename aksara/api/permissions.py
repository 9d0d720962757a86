"""What a request may do: ``permission_classes`` on a viewset (or the ``PERMISSIONS``
setting), each asked ``has_permission`` before the action and ``has_object_permission``
when ``get_object()`` loads the object, as in DRF. Either hook may be ``async def``.

Classes compose: ``IsAuthenticated & IsOwner``, ``IsAdminUser | ReadOnly``, ``~IsBanned``.

An object a user must not learn exists is best filtered out in ``get_queryset()``
(``Post.objects.filter(author=self.request.user)``): it is then a 404, whereas a failing
object permission is a 403 that confirms the object is there.
"""

from __future__ import annotations

import inspect
from typing import Any

from starlette.requests import Request

__all__ = [
    "SAFE_METHODS",
    "AllowAny",
    "And",
    "BasePermission",
    "IsAdminUser",
    "IsAuthenticated",
    "IsAuthenticatedOrReadOnly",
    "Not",
    "Or",
    "check",
]

#: Methods that only read.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def check(value: Any) -> bool:
    """*value* (a permission hook's answer) as a bool, awaited when it is a coroutine."""
    if inspect.isawaitable(value):
        value = await value
    return bool(value)


class _Composable(type):
    """Lets permission classes compose with ``&``, ``|`` and ``~`` as DRF's do."""

    def __and__(cls, other: Any) -> Any:
        return _Operation(And, cls, other)

    def __or__(cls, other: Any) -> Any:
        return _Operation(Or, cls, other)

    def __invert__(cls) -> Any:
        return _Operation(Not, cls)

    __rand__ = __and__
    __ror__ = __or__


class BasePermission(metaclass=_Composable):
    """A rule; ``message`` is the detail of its 403. Both hooks allow by default."""

    message: str | None = None

    def has_permission(self, request: Request, view: Any) -> Any:
        """Whether the request may run the view's action at all (may be async)."""
        return True

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> Any:
        """Whether the request may act on *obj* (may be async)."""
        return True

    def __and__(self, other: BasePermission) -> BasePermission:
        return And(self, other)

    def __or__(self, other: BasePermission) -> BasePermission:
        return Or(self, other)

    def __invert__(self) -> BasePermission:
        return Not(self)


class _Operation:
    """``IsAuthenticated & IsOwner`` before instantiation: calling it builds the instance,
    so it stands in ``permission_classes`` like a class."""

    def __init__(self, operator: type[BasePermission], *operands: Any) -> None:
        self.operator = operator
        self.operands = operands

    def __call__(self) -> BasePermission:
        return self.operator(*(operand() for operand in self.operands))

    def __and__(self, other: Any) -> _Operation:
        return _Operation(And, self, other)

    def __or__(self, other: Any) -> _Operation:
        return _Operation(Or, self, other)

    def __invert__(self) -> _Operation:
        return _Operation(Not, self)

    __rand__ = __and__
    __ror__ = __or__

    def __repr__(self) -> str:
        names = [getattr(operand, "__name__", repr(operand)) for operand in self.operands]
        return f"{self.operator.__name__}({', '.join(names)})"


class And(BasePermission):
    """Both permissions allow (the second is not asked when the first refuses)."""

    def __init__(self, first: BasePermission, second: BasePermission) -> None:
        self.first = first
        self.second = second

    async def has_permission(self, request: Request, view: Any) -> bool:
        if not await check(self.first.has_permission(request, view)):
            self.message = self.first.message
            return False
        if not await check(self.second.has_permission(request, view)):
            self.message = self.second.message
            return False
        return True

    async def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if not await check(self.first.has_object_permission(request, view, obj)):
            self.message = self.first.message
            return False
        if not await check(self.second.has_object_permission(request, view, obj)):
            self.message = self.second.message
            return False
        return True


class Or(BasePermission):
    """Either permission allows. For an object, a side allows only if it allowed the
    request too (as DRF does since 3.14), so ``IsAdminUser | IsOwner`` stays strict."""

    def __init__(self, first: BasePermission, second: BasePermission) -> None:
        self.first = first
        self.second = second

    async def has_permission(self, request: Request, view: Any) -> bool:
        return await check(self.first.has_permission(request, view)) or await check(
            self.second.has_permission(request, view)
        )

    async def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        for side in (self.first, self.second):
            if await check(side.has_permission(request, view)) and await check(
                side.has_object_permission(request, view, obj)
            ):
                return True
        return False


class Not(BasePermission):
    """The permission refuses."""

    def __init__(self, operand: BasePermission) -> None:
        self.operand = operand

    async def has_permission(self, request: Request, view: Any) -> bool:
        return not await check(self.operand.has_permission(request, view))

    async def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return not await check(self.operand.has_object_permission(request, view, obj))


class AllowAny(BasePermission):
    """Everyone, signed in or not (the default)."""


class IsAuthenticated(BasePermission):
    """Only a signed-in user."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user.is_authenticated)


class IsAuthenticatedOrReadOnly(BasePermission):
    """Anyone may read (GET, HEAD, OPTIONS); only a signed-in user may write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS or bool(request.user.is_authenticated)


class IsAdminUser(BasePermission):
    """Only a user with ``is_staff``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "is_staff", False))
