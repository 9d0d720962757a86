"""Signed tokens (JWT through PyJWT): access and refresh tokens for a user.

The accepted algorithm is pinned to ``TOKEN["algorithm"]``: a token claiming ``none``, or
HS256 signed with an RS256 public key, fails verification. A verified token's claims are
kept (bounded, until they expire) so a client repeating a token pays a dictionary lookup.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from aksara.auth.keys import get_secret_key
from aksara.conf import settings
from aksara.exceptions import AksaraError, ConfigurationError

__all__ = ["ACCESS", "REFRESH", "InvalidToken", "TokenCodec", "get_token_codec"]

ACCESS = "access"
REFRESH = "refresh"
_REQUIRED = ["exp", "iat", "sub", "type"]


class InvalidToken(AksaraError):
    """A token is forged, expired, malformed or of the wrong kind."""


class TokenCodec:
    """Issues and verifies the tokens of one ``TOKEN`` configuration."""

    #: Verified tokens remembered (the oldest are forgotten first).
    cache_size = 4096

    def __init__(self, options: dict[str, Any], secret: str | None) -> None:
        self.options = options
        algorithm: str = options["algorithm"]
        self.algorithm = algorithm
        self.algorithms = [algorithm]
        if algorithm.startswith("HS"):
            key = options["signing_key"] or secret
            if not isinstance(key, str) or len(key) < 32:
                raise ConfigurationError(
                    f"TOKEN['signing_key'] for {algorithm} must be a string of at least 32 "
                    "characters (or leave it None to sign with SECRET_KEY)."
                )
            self.signing_key: Any = key
            self.verifying_key: Any = key
        else:
            self.signing_key = options["signing_key"]
            self.verifying_key = options["verifying_key"]
        self.leeway: float = options["leeway"]
        self._verified: dict[str, dict[str, Any]] = {}

    def encode(self, subject: Any, kind: str, **claims: Any) -> str:
        """A token of *kind* (``access`` or ``refresh``) for the user whose key is *subject*."""
        if self.signing_key is None:
            raise ConfigurationError(
                f"TOKEN['signing_key'] (the private key) is needed to issue {self.algorithm} "
                "tokens; this configuration can only verify them."
            )
        now = int(time.time())
        ttl = self.options["access_ttl" if kind == ACCESS else "refresh_ttl"]
        payload = {
            "sub": str(subject),
            "type": kind,
            "iat": now,
            "exp": now + int(ttl),
            "jti": secrets.token_hex(8),
            **claims,
        }
        if self.options["issuer"] is not None:
            payload["iss"] = self.options["issuer"]
        if self.options["audience"] is not None:
            payload["aud"] = self.options["audience"]
        return jwt.encode(payload, self.signing_key, algorithm=self.algorithm)

    def decode(self, token: str, kind: str) -> dict[str, Any]:
        """The claims of *token* once its signature, algorithm, expiry and kind are
        checked; :class:`InvalidToken` says what is wrong otherwise."""
        claims = self._verified.get(token)
        if claims is not None and claims["exp"] + self.leeway > time.time():
            if claims["type"] != kind:
                raise InvalidToken(f"Token is not an {kind} token.")
            return claims
        try:
            claims = jwt.decode(
                token,
                self.verifying_key,
                algorithms=self.algorithms,
                audience=self.options["audience"],
                issuer=self.options["issuer"],
                leeway=self.leeway,
                options={"require": _REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("Token has expired.") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"Token is invalid: {error}") from None
        if claims["type"] != kind:
            raise InvalidToken(f"Token is not an {kind} token.")
        verified = self._verified
        if len(verified) >= self.cache_size:
            del verified[next(iter(verified))]
        verified[token] = claims
        return claims


_codec: tuple[Any, str | None, TokenCodec] | None = None


def get_token_codec() -> TokenCodec:
    """The codec of the ``TOKEN`` settings in force (made again when they change)."""
    global _codec
    options = settings.TOKEN
    hmac = options["algorithm"].startswith("HS") and not options["signing_key"]
    secret = get_secret_key() if hmac else None
    cached = _codec
    if cached is not None and cached[0] is options and cached[1] == secret:
        return cached[2]
    codec = TokenCodec(options, secret)
    _codec = (options, secret, codec)
    return codec
