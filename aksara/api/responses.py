"""``Response``: data encoded once as JSON, with the status and headers an endpoint gives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response as StarletteResponse

from aksara.api.serializers.output import encode

__all__ = ["Response"]

_CONTENT_TYPE = (b"content-type", b"application/json")


class Response(StarletteResponse):
    """A JSON response: ``Response(data, status=200, headers=None)``; ``data`` stays readable
    as ``response.data``. A 204 (and a 304 or 1xx) has no body, and ``None`` is an empty one."""

    media_type = "application/json"

    def __init__(
        self, data: Any = None, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        self.data = data
        self.status_code = status
        self.background = None
        # Built by hand rather than by init_headers(): this runs once per API response.
        if status == 204 or status == 304 or status < 200:
            self.body = b""
            raw = []
        elif data is None:
            self.body = b""
            raw = [(b"content-length", b"0")]
        else:
            body = self.body = encode(data)
            raw = [(b"content-length", str(len(body)).encode()), _CONTENT_TYPE]
        if headers:
            given = [
                (key.lower().encode("latin-1"), value.encode("latin-1"))
                for key, value in headers.items()
            ]
            names = {name for name, _ in given}
            raw = [header for header in raw if header[0] not in names] + given
        self.raw_headers = raw
