"""Password hashing with argon2id (argon2-cffi), parameters from ``PASSWORD_HASHER``.

Hashing and checking cost tens of milliseconds by design: async code runs them in a thread
(:func:`acheck_password`, :func:`amake_password`) so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from aksara.conf import settings

__all__ = [
    "UNUSABLE_PASSWORD_PREFIX",
    "acheck_password",
    "amake_password",
    "check_password",
    "is_password_usable",
    "make_password",
    "needs_rehash",
]

#: A stored password starting with this matches nothing (Django's convention).
UNUSABLE_PASSWORD_PREFIX = "!"

_hashers: dict[int, tuple[Any, PasswordHasher]] = {}


def _hasher() -> PasswordHasher:
    options = settings.PASSWORD_HASHER
    # Keyed on the settings dict itself: configure() makes a new one, so a new hasher.
    cached = _hashers.get(id(options))
    if cached is not None and cached[0] is options:
        return cached[1]
    hasher = PasswordHasher(**options)
    _hashers.clear()
    _hashers[id(options)] = (options, hasher)
    return hasher


def make_password(raw: str | None) -> str:
    """The argon2id hash of *raw* to store; None gives an unusable password."""
    if raw is None:
        return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)
    return _hasher().hash(raw)


def is_password_usable(encoded: str | None) -> bool:
    """Whether *encoded* is a hash some password can match."""
    return bool(encoded) and not encoded.startswith(UNUSABLE_PASSWORD_PREFIX)  # type: ignore[union-attr]


def check_password(raw: str, encoded: str | None) -> bool:
    """Whether *raw* matches the stored hash *encoded* (False for an unusable one)."""
    if encoded is None or not is_password_usable(encoded):
        # Work as long as a real check, so a response's timing does not tell which users
        # have no password.
        _hasher().hash(raw)
        return False
    try:
        return _hasher().verify(encoded, raw)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """Whether *encoded* was made with other parameters than ``PASSWORD_HASHER``'s."""
    try:
        return _hasher().check_needs_rehash(encoded)
    except InvalidHashError:
        return True


async def amake_password(raw: str | None) -> str:
    """:func:`make_password` in a worker thread."""
    return await asyncio.to_thread(make_password, raw)


async def acheck_password(raw: str, encoded: str | None) -> bool:
    """:func:`check_password` in a worker thread."""
    return await asyncio.to_thread(check_password, raw, encoded)
