"""The login endpoints. Tokens: ``POST {prefix}/token/`` trades a username and password
for an access and a refresh token, ``POST {prefix}/token/refresh/`` a refresh token for a
new access token (``router.register("token", TokenViewSet, basename="token")``). Sessions:
``POST {prefix}/session/`` sets the session cookies, ``POST {prefix}/session/logout/``
deletes them (``router.register("session", SessionViewSet, basename="session")``).

Passwords are checked (argon2, in a worker thread) only here; every other request verifies
the access token's signature, which costs microseconds.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request

from aksara.api.access import resolve_classes
from aksara.api.authentication import (
    SessionAuthentication,
    TokenAuthentication,
    authenticate_credentials,
    login,
    logout,
    new_csrf_token,
)
from aksara.api.body import read_json_body
from aksara.api.errors import AuthenticationFailed, ParseError, ValidationFailed
from aksara.api.permissions import AllowAny
from aksara.api.responses import Response
from aksara.api.views import ViewSet, action
from aksara.auth.models import get_user_model, load_user
from aksara.auth.tokens import ACCESS, REFRESH, InvalidToken, get_token_codec
from aksara.conf import settings

__all__ = ["SessionViewSet", "TokenViewSet", "issue_tokens", "signs"]


def issue_tokens(user: Any) -> dict[str, str]:
    """A new access and refresh token for *user*: ``{"access": ..., "refresh": ...}``."""
    codec = get_token_codec()
    # Read by StatelessTokenAuthentication's TokenUser, which never loads the user.
    claims = {"is_staff": True} if getattr(user, "is_staff", False) else {}
    return {
        "access": codec.encode(user.pk, ACCESS, **claims),
        "refresh": codec.encode(user.pk, REFRESH),
    }


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await read_json_body(request)
    try:
        body = orjson.loads(raw) if isinstance(raw, bytes) else raw
    except orjson.JSONDecodeError as error:
        raise ParseError(f"JSON parse error: {error}") from None
    if not isinstance(body, dict):
        raise ParseError("Send a JSON object.")
    return body


def _required(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    for name in names:
        value = body.get(name)
        if value is None or value == "":
            errors[name] = ["This field is required."]
        elif not isinstance(value, str):
            errors[name] = ["Not a valid string."]
        else:
            values[name] = value
    if errors:
        raise ValidationFailed(errors)
    return values


async def _log_in(request: Request) -> Any:
    body = await _json_object(request)
    field = get_user_model().USERNAME_FIELD
    name = field if field in body else "username"
    values = _required(body, (name, "password"))
    user = await authenticate_credentials(values[name], values["password"])
    if user is None:
        raise AuthenticationFailed("No active account found with the given credentials.")
    user.last_login = dt.datetime.now(dt.UTC)
    await user.save(update_fields=["last_login"])
    return user


class TokenViewSet(ViewSet):
    """Obtain (``POST /token/``) and refresh (``POST /token/refresh/``) JWTs. Open to
    everyone whatever the ``AUTHENTICATION`` and ``PERMISSIONS`` settings say."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    async def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``{"username": ..., "password": ...}`` -> ``{"access": ..., "refresh": ...}``;
        the user model's ``USERNAME_FIELD`` (``"email"``...) is accepted for username."""
        return Response(issue_tokens(await _log_in(request)))

    @action(detail=False, methods=["post"])
    async def refresh(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``{"refresh": ...}`` -> ``{"access": ...}`` while the refresh token is valid and
        its user active."""
        values = _required(await _json_object(request), ("refresh",))
        codec = get_token_codec()
        try:
            claims = codec.decode(values["refresh"], REFRESH)
        except InvalidToken as error:
            raise AuthenticationFailed(str(error)) from None
        user = await load_user(claims["sub"])
        if user is None:
            raise AuthenticationFailed("User not found or inactive.")
        return Response({"access": issue_tokens(user)["access"]})


class SessionViewSet(ViewSet):
    """Log in (``POST /session/``: sets the signed session cookie and the ``csrftoken``
    cookie, answers ``{"csrf_token": ...}``) and out (``POST /session/logout/``)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)

    async def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``{"username": ..., "password": ...}`` -> the session cookies."""
        user = await _log_in(request)
        csrf = new_csrf_token()
        response = Response({"csrf_token": csrf})
        login(response, user, csrf)
        return response

    @action(detail=False, methods=["post"], authentication_classes=[SessionAuthentication])
    async def logout(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Delete the session cookies (a session's logout needs its CSRF token)."""
        response = Response(status=204)
        logout(response)
        return response


def signs(viewset: type[Any]) -> bool:
    """Whether *viewset* issues or verifies what ``SECRET_KEY`` signs: tokens or session
    cookies (its own authentication classes, or the ``AUTHENTICATION`` setting's)."""
    if issubclass(viewset, (TokenViewSet, SessionViewSet)):
        return True
    classes = getattr(viewset, "authentication_classes", None)
    if classes is None:
        classes = settings.AUTHENTICATION
    signing = (TokenAuthentication, SessionAuthentication)
    return any(
        isinstance(cls, type) and issubclass(cls, signing)
        for cls in resolve_classes(classes, "AUTHENTICATION")
    )
