"""Response compression: brotli for clients that accept ``br`` (when the ``brotli`` package
is installed), else gzip; never for compressed media, encoded bodies, ranges or small bodies."""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

try:
    import brotli
except ImportError:  # the optional "compression" extra
    brotli = None

__all__ = ["EXCLUDED_TYPES", "CompressionMiddleware", "choose_encoding"]

Message = MutableMapping[str, Any]
ASGIApp = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]

#: Content types whose bodies are compressed already: a second pass costs CPU, saves nothing.
EXCLUDED_TYPES = (
    "image/",
    "video/",
    "audio/",
    "font/woff",
    "application/zip",
    "application/gzip",
    "application/x-gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/x-7z-compressed",
    "application/zstd",
    "application/octet-stream",
    "application/pdf",
    # Server-sent events: each event must reach the client now, not when a block fills.
    "text/event-stream",
)


class _Compressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def flush(self) -> bytes: ...


class _Brotli:
    """brotli.Compressor under the zlib compressobj interface."""

    def __init__(self, quality: int) -> None:
        self._compressor = brotli.Compressor(quality=quality)

    def compress(self, data: bytes) -> bytes:
        result: bytes = self._compressor.process(data)
        return result

    def flush(self) -> bytes:
        result: bytes = self._compressor.finish()
        return result


def _accepted(header: str) -> dict[str, float]:
    """The codings of an Accept-Encoding header with their q-values."""
    codings: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        codings[name.strip().lower()] = quality
    return codings


def choose_encoding(accept_encoding: str, *, use_brotli: bool = True) -> str | None:
    """``"br"``, ``"gzip"`` or None (identity) for a request's Accept-Encoding header."""
    if not accept_encoding:
        return None
    codings = _accepted(accept_encoding)
    wildcard = codings.get("*", 0.0)
    if use_brotli and brotli is not None and codings.get("br", wildcard) > 0:
        return "br"
    if codings.get("gzip", wildcard) > 0:
        return "gzip"
    return None


class CompressionMiddleware:
    """ASGI middleware for the ``COMPRESSION`` setting: ``minimum_size`` (bytes), ``level``
    (1-9, used for gzip and as brotli's quality) and ``brotli`` (offer it or not)."""

    def __init__(
        self, app: ASGIApp, *, minimum_size: int = 500, level: int = 6, brotli: bool = True
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.level = level
        self.use_brotli = brotli

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = ""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value.decode("latin-1")
                break
        encoding = choose_encoding(accept, use_brotli=self.use_brotli)
        await self.app(scope, receive, _Responder(self, encoding, send).send)

    def compressor(self, encoding: str) -> _Compressor:
        """A streaming compressor for *encoding*."""
        if encoding == "br":
            return _Brotli(self.level)
        return zlib.compressobj(self.level, zlib.DEFLATED, 31)  # 31: gzip framing


class _Responder:
    """One response: holds its start message until the first body tells whether (and how)
    to compress it."""

    def __init__(self, owner: CompressionMiddleware, encoding: str | None, send: Any) -> None:
        self.owner = owner
        self.encoding = encoding
        self.downstream = send
        self.start: Message | None = None
        self.compressor: _Compressor | None = None
        self.passthrough = False

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            headers = message.get("headers", ())
            if not _compressible(message["status"], headers):
                self.passthrough = True
                await self.downstream(message)
                return
            self.start = message
            return
        if kind != "http.response.body" or self.passthrough:
            await self.downstream(message)
            return
        start = self.start
        body: bytes = message.get("body", b"")
        more = message.get("more_body", False)
        if start is not None:  # the first body
            self.start = None
            headers = [(n, v) for n, v in start.get("headers", ()) if n != b"vary"]
            vary = [v for n, v in start.get("headers", ()) if n == b"vary"]
            headers.append((b"vary", b", ".join([*vary, b"Accept-Encoding"])))
            if self.encoding is None or (not more and len(body) < self.owner.minimum_size):
                self.passthrough = True
                await self.downstream({**start, "headers": headers})
                await self.downstream(message)
                return
            self.compressor = self.owner.compressor(self.encoding)
            headers = [(n, v) for n, v in headers if n != b"content-length"]
            headers.append((b"content-encoding", self.encoding.encode()))
            data = self.compressor.compress(body)
            if not more:
                data += self.compressor.flush()
                headers.append((b"content-length", str(len(data)).encode()))
            await self.downstream({**start, "headers": headers})
            await self.downstream({"type": kind, "body": data, "more_body": more})
            return
        assert self.compressor is not None
        data = self.compressor.compress(body)
        if not more:
            data += self.compressor.flush()
        await self.downstream({"type": kind, "body": data, "more_body": more})


def _compressible(status: int, headers: Any) -> bool:
    """False for a range (206), an encoded body, or a compressed media type."""
    if status == 206 or status < 200 or status in (204, 304):
        return False
    for name, value in headers:
        if name == b"content-encoding":
            return False
        if name == b"content-type":
            kind = value.decode("latin-1").lower()
            if kind.startswith(EXCLUDED_TYPES):
                return False
    return True
