"""The settings of authentication and its keys: SECRET_KEY, USER_MODEL, AUTHENTICATION,
PERMISSIONS, TOKEN (JWT), SESSION (cookie and CSRF), PASSWORD_HASHER and NUM_PROXIES."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aksara.conf.values import _classes, _number, _options
from aksara.exceptions import ConfigurationError

TOKEN_DEFAULTS: dict[str, Any] = {
    "algorithm": "HS256",
    "signing_key": None,
    "verifying_key": None,
    "access_ttl": 300,
    "refresh_ttl": 86_400,
    "keywords": ("Bearer", "Token"),
    "issuer": None,
    "audience": None,
    "leeway": 0,
}
TOKEN_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "EdDSA")
SESSION_DEFAULTS: dict[str, Any] = {
    "cookie_name": "aksara_session",
    "max_age": 14 * 86_400,
    "secure": False,
    "samesite": "lax",
    "csrf_cookie_name": "csrftoken",
    "csrf_header_name": "X-CSRFToken",
    "trusted_origins": (),
}
PASSWORD_HASHER_DEFAULTS: dict[str, Any] = {"time_cost": 3, "memory_cost": 65_536, "parallelism": 4}


def _secret_key(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or len(value) < 32):
        raise ConfigurationError(
            "SECRET_KEY must be a string of at least 32 characters (for example "
            "secrets.token_urlsafe(50)), or None."
        )
    return value


def _user_model(value: Any) -> Any:
    if value is not None and not isinstance(value, (str, type)):
        raise ConfigurationError(
            f"USER_MODEL must be a model class, a dotted path such as 'app.models.User' or "
            f"None, got {value!r}."
        )
    return value


def _token(value: Any) -> dict[str, Any]:
    options = _options("TOKEN", TOKEN_DEFAULTS, value)
    if options["algorithm"] not in TOKEN_ALGORITHMS:
        raise ConfigurationError(
            f"TOKEN['algorithm'] must be one of {', '.join(TOKEN_ALGORITHMS)}; "
            f"got {options['algorithm']!r}."
        )
    if not options["algorithm"].startswith("HS") and not options["verifying_key"]:
        raise ConfigurationError(
            f"TOKEN['algorithm'] {options['algorithm']} needs TOKEN['verifying_key'] (the "
            "public key, PEM) and, to issue tokens, TOKEN['signing_key'] (the private key)."
        )
    for name in ("access_ttl", "refresh_ttl"):
        _number(f"TOKEN['{name}']", options[name], integer=False, minimum=1, optional=False)
    _number("TOKEN['leeway']", options["leeway"], integer=False, minimum=0, optional=False)
    keywords = options["keywords"]
    if isinstance(keywords, str) or not keywords or not all(isinstance(k, str) for k in keywords):
        raise ConfigurationError("TOKEN['keywords'] must be a non-empty list of strings.")
    options["keywords"] = tuple(keywords)
    return options


def _session(value: Any) -> dict[str, Any]:
    options = _options("SESSION", SESSION_DEFAULTS, value)
    if options["samesite"] not in ("lax", "strict", "none"):
        raise ConfigurationError("SESSION['samesite'] must be 'lax', 'strict' or 'none'.")
    _number("SESSION['max_age']", options["max_age"], integer=True, minimum=1, optional=False)
    options["trusted_origins"] = tuple(options["trusted_origins"])
    return options


def _password_hasher(value: Any) -> dict[str, Any]:
    options = _options("PASSWORD_HASHER", PASSWORD_HASHER_DEFAULTS, value)
    for name, given in options.items():
        _number(f"PASSWORD_HASHER['{name}']", given, integer=True, minimum=1, optional=False)
    return options


def _num_proxies(value: Any) -> int:
    result: int = _number("NUM_PROXIES", value, integer=True, minimum=0, optional=False)
    return result


#: The validator of each setting of this concern, called with the value given.
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "SECRET_KEY": _secret_key,
    "USER_MODEL": _user_model,
    "AUTHENTICATION": _classes("AUTHENTICATION"),
    "PERMISSIONS": _classes("PERMISSIONS"),
    "TOKEN": _token,
    "SESSION": _session,
    "PASSWORD_HASHER": _password_hasher,
    "NUM_PROXIES": _num_proxies,
}

#: The value of each setting of this concern when the settings module does not set it.
DEFAULTS: dict[str, Any] = {
    # Signs tokens and session cookies (None: refused unless DEBUG, then one per process).
    "SECRET_KEY": None,
    # The user model (None: the one concrete subclass of aksara.auth.AbstractBaseUser).
    "USER_MODEL": None,
    # Authentication classes of viewsets that name none ([]: every request is anonymous).
    "AUTHENTICATION": [],
    # Permission classes of viewsets that name none.
    "PERMISSIONS": ["aksara.api.permissions.AllowAny"],
    # JWT: algorithm, keys, lifetimes in seconds, Authorization keywords (aksara.api.tokens).
    "TOKEN": dict(TOKEN_DEFAULTS),
    # The signed session cookie and its CSRF check (aksara.api.authentication).
    "SESSION": dict(SESSION_DEFAULTS),
    # argon2id parameters (RFC 9106's second recommendation by default).
    "PASSWORD_HASHER": dict(PASSWORD_HASHER_DEFAULTS),
    # Proxies in front of the app that append to X-Forwarded-For (0: the socket's peer is
    # the client address throttles count by).
    "NUM_PROXIES": 0,
}
