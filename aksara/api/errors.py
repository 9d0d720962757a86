"""The errors an API answers with: each carries its HTTP status and a JSON-ready ``detail``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from aksara.exceptions import AksaraError

__all__ = [
    "APIError",
    "AuthenticationFailed",
    "Conflict",
    "FieldSelectionError",
    "MethodNotAllowed",
    "NotAuthenticated",
    "NotFound",
    "ParseError",
    "PayloadTooLarge",
    "PermissionDenied",
    "RequestTimeout",
    "Throttled",
    "UnsupportedMediaType",
    "ValidationFailed",
]


class APIError(AksaraError):
    """An error that becomes a JSON response ``{"detail": ...}`` with ``status_code``."""

    status_code: ClassVar[int] = 500
    default_detail: ClassVar[str] = "A server error occurred."

    def __init__(self, detail: Any = None, *, headers: Mapping[str, str] | None = None) -> None:
        self.detail: Any = self.default_detail if detail is None else detail
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(str(self.detail))


class ParseError(APIError):
    """The request body is not valid JSON, or not the shape the endpoint takes."""

    status_code = 400
    default_detail = "Malformed request."


class ValidationFailed(APIError):
    """Input failed validation; ``detail`` maps each field (or ``non_field_errors``) to its
    messages, nested serializers by path: ``{"title": ["This field is required."]}``."""

    status_code = 400
    default_detail = "Invalid input."

    def __init__(self, detail: Mapping[str, Any] | list[str] | str) -> None:
        if isinstance(detail, str):
            detail = {"non_field_errors": [detail]}
        elif isinstance(detail, list):
            detail = {"non_field_errors": list(detail)}
        super().__init__(dict(detail))


class FieldSelectionError(APIError):
    """``?fields=`` names fields the serializer does not output; lists the valid ones."""

    status_code = 400

    def __init__(self, invalid: list[str], valid: list[str]) -> None:
        self.invalid = invalid
        self.valid = valid
        super().__init__(
            {
                "fields": [
                    f"Unknown field{'s' if len(invalid) > 1 else ''}: {', '.join(invalid)}. "
                    f"Valid fields: {', '.join(valid)}."
                ]
            }
        )


class NotAuthenticated(APIError):
    """No or bad credentials (401)."""

    status_code = 401
    default_detail = "Authentication credentials were not provided."


class AuthenticationFailed(NotAuthenticated):
    """Credentials were given but are wrong: a forged, expired or malformed token, a bad
    password, a tampered cookie (401 with ``WWW-Authenticate``, or 403 without one)."""

    default_detail = "Incorrect authentication credentials."


class PermissionDenied(APIError):
    """The user may not do this (403)."""

    status_code = 403
    default_detail = "You do not have permission to perform this action."


class Throttled(APIError):
    """Too many requests (429); ``Retry-After`` gives the whole seconds to wait, when known."""

    status_code = 429
    default_detail = "Request was throttled."

    def __init__(self, wait: float | None = None, detail: str | None = None) -> None:
        #: Whole seconds until a request would be allowed (None: unknown).
        self.wait = None if wait is None else max(1, math.ceil(wait))
        if detail is None:
            detail = self.default_detail
            if self.wait is not None:
                unit = "second" if self.wait == 1 else "seconds"
                detail = f"{detail} Expected available in {self.wait} {unit}."
        headers = None if self.wait is None else {"Retry-After": str(self.wait)}
        super().__init__(detail, headers=headers)


class NotFound(APIError):
    """No such resource (404)."""

    status_code = 404
    default_detail = "Not found."


class Conflict(APIError):
    """The request conflicts with the data as it stands (409): e.g. a lookup value that
    names more than one object."""

    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."


class MethodNotAllowed(APIError):
    """The route exists but not for this method (405); ``Allow`` lists the methods."""

    status_code = 405

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(f'Method "{method}" not allowed.', headers={"Allow": ", ".join(allowed)})


class PayloadTooLarge(APIError):
    """The body is larger than ``MAX_BODY_BYTES`` (413)."""

    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than {limit} bytes.")


class RequestTimeout(APIError):
    """The client did not send the whole body within ``BODY_TIMEOUT`` seconds (408)."""

    status_code = 408

    def __init__(self, seconds: float) -> None:
        super().__init__(f"Request body not received within {seconds:g} s.")


class UnsupportedMediaType(APIError):
    """The body's content type is not JSON (415)."""

    status_code = 415

    def __init__(self, media_type: str) -> None:
        super().__init__(
            f'Unsupported media type "{media_type}" in request; send application/json.'
        )
