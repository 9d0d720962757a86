"""Exceptions become JSON responses: ``{"detail": ...}`` with the error's status and headers.

The database being out of reach (no connection could be opened, the pool stayed exhausted
past its acquire timeout, the connection broke) is a 503 with ``Retry-After``
(``RETRY_AFTER``), a statement past its timeout a 504: both logged, neither showing SQL.
Any other unexpected exception is logged with its traceback (logger ``aksara.api``) and answered
with a 500 that shows neither the traceback nor any SQL, unless ``DEBUG`` is on.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse

from aksara.api.errors import APIError
from aksara.api.responses import Response
from aksara.conf import settings
from aksara.exceptions import (
    ConnectionLostError,
    DatabaseClosedError,
    DatabaseUnavailableError,
    ObjectDoesNotExist,
    PoolTimeoutError,
    QueryTimeoutError,
    WriteOutcomeUnknownError,
)

__all__ = ["EXCEPTION_HANDLERS", "error_response", "logger"]

logger = logging.getLogger("aksara.api")

SERVER_ERROR = "A server error occurred."


def error_response(exc: BaseException, method: str = "", path: str = "") -> Response:
    """The JSON response for *exc*; anything but an API error or a missing object is a 500,
    logged with its traceback."""
    if isinstance(exc, APIError):
        detail = exc.detail
        body = dict(detail) if isinstance(detail, Mapping) else {"detail": detail}
        return Response(body, exc.status_code, exc.headers or None)
    if isinstance(exc, ObjectDoesNotExist):
        return Response({"detail": "Not found."}, 404)
    if isinstance(exc, HTTPException):
        return _http_response(exc, method)
    unavailable = _unavailable_response(exc, method, path)
    if unavailable is not None:
        return unavailable
    logger.error("Unhandled exception in %s %s", method, path, exc_info=exc)
    data: dict[str, Any] = {"detail": SERVER_ERROR}
    if settings.DEBUG:
        data["type"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
        data["message"] = str(exc)
        data["traceback"] = traceback.format_exception(exc)
    return Response(data, 500)


#: What a client is told when the database is out of reach, by the error that says so.
_UNAVAILABLE: tuple[tuple[type[BaseException], str], ...] = (
    (PoolTimeoutError, "The server is busy: no database connection became free in time."),
    (DatabaseUnavailableError, "The database is unavailable."),
    (DatabaseClosedError, "The database is unavailable."),
    (
        WriteOutcomeUnknownError,
        "The database connection was lost after the write was sent: it may or may not "
        "have been applied.",
    ),
    (ConnectionLostError, "The database connection was lost."),
)


def _unavailable_response(exc: BaseException, method: str, path: str) -> Response | None:
    """503 (with ``Retry-After``) or 504 for a database out of reach or too slow; else None."""
    if isinstance(exc, QueryTimeoutError):
        logger.warning("Statement timeout in %s %s: %s", method, path, exc)
        return Response({"detail": "The database did not answer in time."}, 504)
    for kind, detail in _UNAVAILABLE:
        if isinstance(exc, kind):
            logger.warning("Database unavailable in %s %s: %s", method, path, exc)
            headers = {"Retry-After": str(settings.RETRY_AFTER)}
            return Response({"detail": f"{detail} Retry later."}, 503, headers)
    return None


def _http_response(exc: HTTPException, method: str) -> Response:
    if exc.status_code == 404:
        detail: Any = "Not found."
    elif exc.status_code == 405:
        detail = f'Method "{method}" not allowed.'
    elif exc.detail == HTTPStatus(exc.status_code).phrase:
        detail = f"{exc.detail}."
    else:
        detail = exc.detail
    return Response({"detail": detail}, exc.status_code, exc.headers)


async def _handle(request: Request, exc: Exception) -> StarletteResponse:
    return error_response(exc, request.method, request.url.path)


#: The app's handlers, so errors outside viewsets (unknown paths, methods, plain endpoints
#: raising an APIError) are JSON too.
EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: _handle,
    APIError: _handle,
    ObjectDoesNotExist: _handle,
    **{kind: _handle for kind, _ in _UNAVAILABLE},
    QueryTimeoutError: _handle,
    Exception: _handle,
}
