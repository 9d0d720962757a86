"""Reading a request body: JSON only, never more than ``MAX_BODY_BYTES``, and whole within
``BODY_TIMEOUT`` seconds (a client trickling its body is a 408, not a task held forever)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from aksara.api.errors import ParseError, PayloadTooLarge, RequestTimeout, UnsupportedMediaType
from aksara.conf import settings

__all__ = ["is_json", "read_json_body"]


def is_json(content_type: str) -> bool:
    """Whether *content_type* is ``application/json`` or an ``application/...+json`` type."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def read_json_body(request: Request) -> Any:
    """The raw JSON body of *request* (bytes), or ``{}`` when it is empty.

    A ``Content-Length`` over ``MAX_BODY_BYTES`` is refused before anything is read, and a
    body streamed without one is refused as soon as it passes the limit (413). A content
    type other than JSON is a 415; no content type at all is read as JSON. A body not
    received whole within ``BODY_TIMEOUT`` seconds is a 408.
    """
    limit: int = settings.MAX_BODY_BYTES
    headers = request.headers
    length = headers.get("content-length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise ParseError(f"Content-Length must be a number of bytes, got {length!r}.")
        if int(length) > limit:
            raise PayloadTooLarge(limit)
    content_type = headers.get("content-type")
    if content_type is not None and not is_json(content_type):
        raise UnsupportedMediaType(content_type.partition(";")[0].strip())
    chunks: list[bytes] = []
    timeout: float | None = settings.BODY_TIMEOUT
    try:
        async with asyncio.timeout(timeout):
            await _read_chunks(request, chunks, limit)
    except TimeoutError:
        if timeout is None:
            raise
        raise RequestTimeout(timeout) from None
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    # As DRF: an empty body is an empty object, so the missing fields are each reported.
    return body if body else {}


async def _read_chunks(request: Request, chunks: list[bytes], limit: int) -> None:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
