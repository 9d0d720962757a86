"""Throttles, as DRF names them: ``AnonRateThrottle``, ``UserRateThrottle`` and
``ScopedRateThrottle`` on a viewset's ``throttle_classes`` (default: the ``THROTTLES``
setting), each counting requests against a rate of ``THROTTLE_RATES`` (``"100/min"``).

Counters live in the cache named by ``THROTTLE_CACHE``: on Redis they are shared by every
worker and machine (one round trip per throttle per request, see :mod:`aksara.api.rates`);
on the memory backend each process counts on its own.

When the cache fails (Redis down or slower than its ``timeout_ms``) a throttle **fails
open**: the request is allowed, and the cache logs the outage (at most once a minute) and
counts it in its ``errors``. Throttling guards against abuse, and an outage of the counter
store should not take the API down with it. After a connection failure the cache skips Redis
for ``retry_interval`` (1 s), so an outage costs one timeout now and then, not one per
request. A throttle class with ``fail_open = False`` refuses requests instead (a 429 whose
``Retry-After`` is that interval).
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from starlette.requests import Request

from aksara.api.errors import Throttled
from aksara.api.rates import Rate, count_request, parse_rate
from aksara.cache import caches
from aksara.conf import settings
from aksara.exceptions import ConfigurationError

__all__ = [
    "AnonRateThrottle",
    "BaseThrottle",
    "ScopedRateThrottle",
    "SimpleRateThrottle",
    "ThrottleMixin",
    "UserRateThrottle",
    "client_address",
    "request_user",
]


def request_user(request: Request) -> Any:
    """The request's user when authentication set one (``request.user``, that is
    ``scope["user"]``, or ``request.state.user``), else None."""
    scope = request.scope
    user = scope.get("user")
    if user is None:
        state = scope.get("state")
        if state:
            user = state.get("user")
    return user


def client_address(request: Request) -> str:
    """The client's IP address: the socket's peer, or with ``NUM_PROXIES`` set, the address
    that many entries from the end of ``X-Forwarded-For`` (the one the outermost proxy saw)."""
    proxies: int = settings.NUM_PROXIES
    if proxies:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            addresses = [address.strip() for address in forwarded.split(",")]
            return addresses[-min(proxies, len(addresses))]
    client = request.client
    return client.host if client is not None else ""


def _is_authenticated(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


class BaseThrottle:
    """A throttle: ``allow_request(request, view)`` (sync or async) says whether a request
    may run; after a refusal, ``wait()`` gives the seconds until one would be allowed."""

    #: Allow requests when the counters' cache fails (see the module's documentation).
    fail_open: ClassVar[bool] = True

    def allow_request(self, request: Request, view: Any) -> Any:
        """True to let the request run, False to refuse it with a 429 (may be async)."""
        raise NotImplementedError(f"{type(self).__name__} must define allow_request().")

    def get_ident(self, request: Request) -> str:
        """The client's address, which anonymous requests are counted by."""
        return client_address(request)

    def wait(self) -> float | None:
        """Seconds until a refused client may try again (None: unknown)."""
        return None


class SimpleRateThrottle(BaseThrottle):
    """A throttle counting each client's requests against the rate of its ``scope`` in
    ``THROTTLE_RATES`` (or its own ``rate``); subclasses name the client in
    :meth:`get_cache_key` (None: the request is not throttled)."""

    #: The key of ``THROTTLE_RATES`` whose rate applies.
    scope: ClassVar[str | None] = None
    #: A rate of the class's own ("100/min"), which the setting does not override.
    rate: ClassVar[str | None] = None
    #: The cache alias of the counters (None: the ``THROTTLE_CACHE`` setting).
    cache_alias: ClassVar[str | None] = None
    #: The clock (seconds since the epoch, the same on every machine); tests replace it.
    timer: ClassVar[staticmethod[[], float]] = staticmethod(time.time)

    _wait: float | None = None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        """The counter's key for this request's client, or None not to throttle it."""
        raise NotImplementedError(f"{type(self).__name__} must define get_cache_key().")

    def get_rate(self, scope: str | None = None) -> Rate | None:
        """The parsed rate of *scope* (default: ``scope``); None: no limit."""
        if self.rate is not None:
            return parse_rate(self.rate)
        scope = self.scope if scope is None else scope
        rates: dict[str, str | None] = settings.THROTTLE_RATES
        try:
            text = rates[scope]  # type: ignore[index]
        except KeyError:
            configured = ", ".join(sorted(rates)) or "none"
            raise ConfigurationError(
                f"{type(self).__name__} has no rate for the scope {scope!r}: add it to "
                f'THROTTLE_RATES (e.g. {{"{scope}": "100/min"}}) or set `rate` on the class. '
                f"Scopes with a rate: {configured}."
            ) from None
        return None if text is None else parse_rate(text)

    async def allow_request(self, request: Request, view: Any) -> bool:
        """Count the request against the rate; False when the client is over it."""
        rate = self.get_rate()
        if rate is None:
            return True
        return await self.throttle(request, view, rate, self.get_scope(view))

    def get_scope(self, view: Any) -> str:
        """The scope that names this throttle's counters."""
        return self.scope or type(self).__name__

    async def throttle(self, request: Request, view: Any, rate: Rate, scope: str) -> bool:
        """Count the request of this client against *rate* under *scope*."""
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        cache = caches[self.cache_alias or settings.THROTTLE_CACHE]
        answer = await count_request(cache, f"throttle:{scope}:{ident}", rate, self.timer())
        if answer is None:
            self._wait = None if self.fail_open else cache.retry_interval
            return self.fail_open
        self._wait = answer.wait
        return answer.allowed

    def wait(self) -> float | None:
        """Seconds until the refused client's next request would be allowed."""
        return self._wait


class AnonRateThrottle(SimpleRateThrottle):
    """Anonymous requests, by client address, at ``THROTTLE_RATES["anon"]``; requests of an
    authenticated user are not counted."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        """The client's address, or None for an authenticated user."""
        if _is_authenticated(request_user(request)):
            return None
        return self.get_ident(request)


class UserRateThrottle(SimpleRateThrottle):
    """Each user's requests at ``THROTTLE_RATES["user"]``: by user key when authenticated,
    by client address when not."""

    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        """``user:<pk>`` for an authenticated user, else ``ip:<address>``."""
        return _user_or_address(self, request)


def _user_or_address(throttle: BaseThrottle, request: Request) -> str:
    user = request_user(request)
    if _is_authenticated(user):
        return f"user:{user.pk}"
    return f"ip:{throttle.get_ident(request)}"


class ScopedRateThrottle(SimpleRateThrottle):
    """The rate of the viewset's ``throttle_scope`` (``THROTTLE_RATES["uploads"]``), per user
    or client address; a viewset without a ``throttle_scope`` is not throttled."""

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        """``user:<pk>`` for an authenticated user, else ``ip:<address>``."""
        return _user_or_address(self, request)

    async def allow_request(self, request: Request, view: Any) -> bool:
        """Count the request under the view's ``throttle_scope``, if it has one."""
        scope: str | None = getattr(view, "throttle_scope", None)
        if not scope:
            return True
        rate = self.get_rate(scope)
        if rate is None:
            return True
        return await self.throttle(request, view, rate, scope)


def _import(path: Any) -> type[BaseThrottle]:
    if isinstance(path, str):
        module_name, _, name = path.rpartition(".")
        try:
            path = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError, ValueError) as error:
            raise ConfigurationError(f"The throttle {path!r} cannot be imported: {error}") from None
    if not (isinstance(path, type) and callable(getattr(path, "allow_request", None))):
        raise ConfigurationError(
            f"{path!r} is not a throttle: throttles are classes with allow_request(request, "
            "view), such as aksara.api.throttling.AnonRateThrottle."
        )
    return path


class ThrottleMixin:
    """What a viewset throttles with: ``throttle_classes`` (None: the ``THROTTLES``
    setting), ``get_throttles()`` and ``check_throttles(request)``, run before each action."""

    #: The throttles of this viewset (classes or dotted paths); None: ``THROTTLES``.
    throttle_classes: ClassVar[Sequence[type[BaseThrottle] | str] | None] = None
    #: The ``THROTTLE_RATES`` key that ``ScopedRateThrottle`` counts this viewset under.
    throttle_scope: ClassVar[str | None] = None

    # (the class, the declaration its classes were resolved from, those classes): a
    # subclass finds its parent's entry and resolves its own.
    _throttle_resolution: ClassVar[tuple[type, object, tuple[type[BaseThrottle], ...]] | None] = (
        None
    )

    @classmethod
    def resolve_throttle_classes(cls) -> tuple[type[BaseThrottle], ...]:
        """The throttle classes in force, imported once per class (and setting change)."""
        declared = cls.throttle_classes
        if declared is None:
            declared = settings.THROTTLES
        resolution = cls._throttle_resolution
        if resolution is not None and resolution[0] is cls and resolution[1] is declared:
            return resolution[2]
        classes = tuple(_import(item) for item in declared)
        cls._throttle_resolution = (cls, declared, classes)
        return classes

    def get_throttles(self) -> list[BaseThrottle]:
        """Instances of the throttle classes, for this request (override to vary by action)."""
        return [throttle() for throttle in self.resolve_throttle_classes()]

    async def check_throttles(self, request: Request) -> None:
        """Ask every throttle (each counts the request); a refusal raises :class:`Throttled`
        with the longest wait of the throttles that refused."""
        waits: list[float | None] = []
        for throttle in self.get_throttles():
            allowed = throttle.allow_request(request, self)
            if inspect.isawaitable(allowed):
                allowed = await allowed
            if not allowed:
                waits.append(throttle.wait())
        if waits:
            known = [wait for wait in waits if wait is not None]
            raise Throttled(max(known) if known else None)

    @classmethod
    def has_custom_throttling(cls) -> bool:
        """Whether the class overrides ``get_throttles`` or ``check_throttles``, so its
        throttles can only be known per request."""
        return (
            cls.get_throttles is not ThrottleMixin.get_throttles
            or cls.check_throttles is not ThrottleMixin.check_throttles
        )
