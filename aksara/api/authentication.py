"""Who sends a request: ``authentication_classes`` on a viewset (or the ``AUTHENTICATION``
setting) are tried in order, as in DRF. The first that recognizes credentials sets
``request.user`` and ``request.auth``; wrong credentials are a 401 (403 when the first
class names no ``WWW-Authenticate`` scheme); none at all leave the request anonymous.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse

from aksara.api.errors import AuthenticationFailed, PermissionDenied
from aksara.auth.keys import get_secret_key
from aksara.auth.models import get_user_model, load_user
from aksara.auth.tokens import ACCESS, InvalidToken, get_token_codec
from aksara.conf import settings

__all__ = [
    "BaseAuthentication",
    "BasicAuthentication",
    "SessionAuthentication",
    "StatelessTokenAuthentication",
    "TokenAuthentication",
    "TokenUser",
    "authenticate_credentials",
    "authorization_header",
    "login",
    "logout",
    "new_csrf_token",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def authorization_header(request: Request) -> str | None:
    """The ``Authorization`` header, read straight from the ASGI scope."""
    name: bytes
    value: bytes
    for name, value in request.scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


class BaseAuthentication:
    """One way of recognizing a user. ``authenticate`` (sync or async) returns
    ``(user, auth)``, None when the request carries no credentials of its kind, or raises
    ``AuthenticationFailed`` for wrong ones."""

    def authenticate(self, request: Request) -> Any:
        """``(user, auth)``, or None: these credentials are not here."""
        raise NotImplementedError(f"{type(self).__name__} must define authenticate(request).")

    def authenticate_header(self, request: Request) -> str | None:
        """The ``WWW-Authenticate`` value of a 401; None makes refusals 403s."""
        return None

    # Subclasses describe themselves to the OpenAPI schema with
    # ``openapi_security_scheme() -> (name, securityScheme object)``; a class without one
    # is left out of the schema's security section.


class TokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <jwt>`` (or ``Token <jwt>``; ``TOKEN["keywords"]``): an
    access token from ``aksara.api.tokens``. The user is read by its key per request, so a
    deactivated user is refused at once."""

    def authenticate(self, request: Request) -> Any:
        header = authorization_header(request)
        if header is None:
            return None
        keyword, _, credentials = header.partition(" ")
        if keyword not in settings.TOKEN["keywords"]:
            return None
        credentials = credentials.strip()
        if not credentials or " " in credentials:
            raise AuthenticationFailed(
                "Invalid token header: give one token after the keyword, without spaces."
            )
        try:
            claims = get_token_codec().decode(credentials, ACCESS)
        except InvalidToken as error:
            raise AuthenticationFailed(str(error)) from None
        return self._user(claims)

    async def _user(self, claims: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        user = await load_user(claims["sub"])
        if user is None:
            raise AuthenticationFailed("User not found or inactive.")
        return user, claims

    def authenticate_header(self, request: Request) -> str | None:
        return f'{settings.TOKEN["keywords"][0]} realm="api"'

    def openapi_security_scheme(self) -> tuple[str, dict[str, Any]]:
        """``tokenAuth``: HTTP bearer, JWT."""
        return "tokenAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class TokenUser:
    """The user a token names, built from its claims without a query (``pk``, and
    ``is_staff`` when the token says so): what :class:`StatelessTokenAuthentication` gives."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, claims: dict[str, Any]) -> None:
        subject: str = claims["sub"]
        self.pk: Any = int(subject) if subject.isascii() and subject.isdigit() else subject
        self.id = self.pk
        self.is_staff = bool(claims.get("is_staff", False))
        self.claims = claims

    def __eq__(self, other: object) -> bool:
        return getattr(other, "pk", None) == self.pk and getattr(other, "is_authenticated", False)

    def __hash__(self) -> int:
        return hash(self.pk)

    def __repr__(self) -> str:
        return f"TokenUser(pk={self.pk!r})"


class StatelessTokenAuthentication(TokenAuthentication):
    """:class:`TokenAuthentication` without reading the user: ``request.user`` is a
    :class:`TokenUser` made from the claims. No query per request, but a user deactivated
    or deleted keeps access until the token expires (``TOKEN["access_ttl"]``)."""

    async def _user(self, claims: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        return TokenUser(claims), claims


class BasicAuthentication(BaseAuthentication):
    """HTTP Basic (``USERNAME_FIELD`` and password), for development: every request pays
    a password hash."""

    async def authenticate(self, request: Request) -> Any:
        header = authorization_header(request)
        if header is None:
            return None
        keyword, _, credentials = header.partition(" ")
        if keyword.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed(
                "Invalid basic header: not base64 of user:password."
            ) from None
        username, colon, password = decoded.partition(":")
        if not colon:
            raise AuthenticationFailed(
                "Invalid basic header: not base64 of user:password."
            ) from None
        user = await authenticate_credentials(username, password)
        if user is None:
            raise AuthenticationFailed("Invalid username/password.")
        return user, None

    def authenticate_header(self, request: Request) -> str | None:
        return 'Basic realm="api"'

    def openapi_security_scheme(self) -> tuple[str, dict[str, Any]]:
        """``basicAuth``: HTTP basic."""
        return "basicAuth", {"type": "http", "scheme": "basic"}


async def authenticate_credentials(username: str, password: str) -> Any:
    """The active user whose ``USERNAME_FIELD`` is *username* and password *password*, or
    None. An unknown user costs a hash too, so timing does not reveal who exists."""
    model = get_user_model()
    user = await model.objects.filter(**{model.USERNAME_FIELD: username}).first()
    if user is None:
        await model(password=None).check_password(password)
        return None
    if not await user.check_password(password) or not user.is_active:
        return None
    return user


class SessionAuthentication(BaseAuthentication):
    """A signed session cookie (itsdangerous, ``SECRET_KEY``) set by :func:`login`. Unsafe
    methods need the CSRF token (the ``csrftoken`` cookie's value) in ``X-CSRFToken`` and,
    when the browser sends one, an ``Origin`` of this site or ``SESSION["trusted_origins"]``.
    A tampered or expired cookie is no session: the request goes on anonymous."""

    async def authenticate(self, request: Request) -> Any:
        options = settings.SESSION
        cookie = request.cookies.get(options["cookie_name"])
        if not cookie:
            return None
        try:
            data = _serializer().loads(cookie, max_age=options["max_age"])
            key, fingerprint, csrf = data["u"], data["h"], data["c"]
        except (BadSignature, KeyError, TypeError):
            return None
        user = await load_user(key)
        if user is None or not hmac.compare_digest(fingerprint, _fingerprint(user)):
            return None
        if request.method not in SAFE_METHODS:
            enforce_csrf(request, csrf)
        return user, None

    def openapi_security_scheme(self) -> tuple[str, dict[str, Any]]:
        """``sessionAuth``: an API key in the session cookie."""
        return "sessionAuth", {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION["cookie_name"],
        }


def enforce_csrf(request: Request, expected: str) -> None:
    """Refuse (403) an unsafe request of a session whose origin is foreign or whose
    ``X-CSRFToken`` header is not the session's CSRF token."""
    options = settings.SESSION
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin is not None:
        if origin != own and origin not in options["trusted_origins"]:
            raise PermissionDenied(f"CSRF failed: origin {origin} is not trusted.")
    elif request.url.scheme == "https":
        referer = request.headers.get("referer", "")
        if not (referer == own or referer.startswith(own + "/")):
            raise PermissionDenied("CSRF failed: an https request needs a same-origin Referer.")
    given = request.headers.get(options["csrf_header_name"])
    if not given:
        raise PermissionDenied("CSRF failed: CSRF token missing.")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise PermissionDenied("CSRF failed: CSRF token incorrect.")


def new_csrf_token() -> str:
    """A fresh random CSRF token."""
    return secrets.token_urlsafe(32)


def login(response: StarletteResponse, user: Any, csrf_token: str | None = None) -> str:
    """Start a session for *user*: set the signed session cookie (HttpOnly) and the CSRF
    cookie on *response*; returns the CSRF token (*csrf_token*, or a new one)."""
    options = settings.SESSION
    csrf = csrf_token or new_csrf_token()
    value = _serializer().dumps({"u": str(user.pk), "h": _fingerprint(user), "c": csrf})
    common: dict[str, Any] = {
        "max_age": options["max_age"],
        "secure": options["secure"],
        "samesite": options["samesite"],
    }
    response.set_cookie(options["cookie_name"], value, httponly=True, **common)
    response.set_cookie(options["csrf_cookie_name"], csrf, httponly=False, **common)
    return csrf


def logout(response: StarletteResponse) -> None:
    """End the session: delete its cookies on *response*."""
    options = settings.SESSION
    response.delete_cookie(options["cookie_name"])
    response.delete_cookie(options["csrf_cookie_name"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_secret_key(), salt="aksara.session")


def _fingerprint(user: Any) -> str:
    # A session ends when the password changes: the cookie carries a keyed digest of it.
    stored = (user.password or "").encode()
    key = get_secret_key().encode()
    return hmac.new(key, b"aksara.session.password:" + stored, hashlib.sha256).hexdigest()[:32]
