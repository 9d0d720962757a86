"""``@cache_response``: the 200 responses of a GET endpoint kept in a cache, per user (the
key holds Authorization, Cookie and the headers the response varies on), with an ETag
answered by 304 and stale after a committed write to a table the endpoint read."""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from aksara.cache import entries
from aksara.cache.decorators import _tables_of, _tracking, is_tracked
from aksara.conf import settings

if TYPE_CHECKING:
    from aksara.cache.backends.base import Cache

__all__ = ["CachedResponse", "cache_response"]

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

#: Request headers every key holds: whoever the request speaks for.
_IDENTITY = (b"authorization", b"cookie")
_KEYED = (b"host", *_IDENTITY)
_NOT_STORED = ("private", "no-store", "no-cache")
_VARY = "vary"


class CachedResponse(Response):
    """A response rebuilt from a cache entry: status, raw headers and body as stored."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.raw_headers = headers
        self.body = body
        self.background = None


def cache_response(
    ttl: float = 60, *, cache: str = "default", invalidate_on_write: bool = True
) -> Callable[[F], F]:
    """Cache the 200 responses to GET (and HEAD) of an endpoint or a viewset action for *ttl*
    seconds: ``@cache_response(ttl=60)`` over ``async def list(self, request)``."""
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or ttl <= 0:
        raise TypeError(f"@cache_response(ttl=) takes a number of seconds above 0, not {ttl!r}.")

    def decorate(endpoint: F) -> F:
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"@cache_response takes an async endpoint, not {endpoint!r}.")
        responder = _Responder(endpoint, float(ttl), cache, invalidate_on_write)

        @functools.wraps(endpoint)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            return await responder.respond(args, kwargs)

        wrapper.invalidate_all = responder.invalidate_all  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


class _Responder:
    def __init__(
        self, endpoint: Callable[..., Awaitable[Any]], ttl: float, alias: str, track: bool
    ) -> None:
        self.endpoint = endpoint
        self.ttl = ttl
        self.alias = alias
        self.track = track
        self.name = f"{endpoint.__module__}.{endpoint.__qualname__}"
        self.generation = f"response:{self.name}:generation"
        self.control = f"max-age={int(ttl)}".encode()

    @property
    def cache(self) -> Cache:
        from aksara.cache.registry import caches

        return caches[self.alias]

    async def invalidate_all(self) -> None:
        """Make every stored response of this endpoint stale."""
        await entries.bump(self.cache, self.generation)

    async def respond(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        request = _request_of(args)
        method = request.method
        if (method != "GET" and method != "HEAD") or is_tracked():
            return await self.endpoint(*args, **kwargs)
        cache = self.cache
        headers = request.headers
        base = self.base_key(request)
        found, entry = await entries.load(cache, base)
        if found and entry[0] == _VARY:
            key = _varied_key(base, entry[1], headers)
            found, entry = await entries.load(cache, key)
        if found:
            return self.answer(entry[0], _headers(entry[1]), entry[2], headers, b"hit")
        token = await entries.begin(cache)
        with _tracking(self.track) as read:
            response = await self.endpoint(*args, **kwargs)
        stored = self.storable(response, request)
        if stored is None:
            return response
        raw, vary = stored
        tables = _tables_of(read)
        # HEAD is answered from GET's entries but only stores a GET's: an endpoint may
        # leave a HEAD's body out.
        if tables is not None and method == "GET":
            key = base
            if vary:
                await entries.store(
                    cache, base, [_VARY, vary], self.generation, token, tables, self.ttl
                )
                key = _varied_key(base, vary, headers)
            entry = [response.status_code, [list(pair) for pair in raw], response.body]
            await entries.store(cache, key, entry, self.generation, token, tables, self.ttl)
        return self.answer(response.status_code, raw, response.body, headers, b"miss")

    def base_key(self, request: Request) -> str:
        """The key of *request* before the response's ``Vary``: method, host, path, sorted
        query and the identity headers, hashed."""
        scope = request.scope
        query: bytes = scope["query_string"]
        digest = hashlib.blake2b(digest_size=16)
        digest.update(scope.get("root_path", "").encode())
        digest.update(b"\0" + scope["path"].encode())
        # Sorted by name only: a stable sort keeps the order of a repeated name's values.
        pieces = sorted(query.split(b"&"), key=_name_of) if query else ()
        digest.update(b"\0" + b"&".join(pieces))
        found = dict.fromkeys(_KEYED, b"")
        for name, value in scope["headers"]:
            if name in found:
                found[name] += b"\n" + value
        for value in found.values():
            digest.update(b"\0" + value)
        return f"response:{self.name}:{digest.hexdigest()}"

    def storable(
        self, response: Any, request: Request
    ) -> tuple[list[tuple[bytes, bytes]], list[str]] | None:
        """The headers to store and answer with, and the names of the request headers the
        response varies on; None when the response must not be stored."""
        if not isinstance(response, Response) or response.status_code != 200:
            return None
        if response.background is not None:
            return None  # a hit would skip its background task
        body = getattr(response, "body", None)
        if not isinstance(body, bytes):
            return None  # streamed
        raw = list(response.raw_headers)
        vary: list[str] = []
        has_control = has_etag = False
        for name, value in raw:
            if name == b"set-cookie":
                return None
            if name == b"cache-control":
                text = value.decode("latin-1").lower()
                if any(word in text for word in _NOT_STORED):
                    return None
                has_control = True
            elif name == b"vary":
                for part in value.decode("latin-1").split(","):
                    header = part.strip().lower()
                    if header == "*":
                        return None
                    if header and header.encode() not in _IDENTITY and header not in vary:
                        vary.append(header)
            elif name == b"etag":
                has_etag = True
        if not has_etag:
            etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
            raw.append((b"etag", etag.encode()))
        if not has_control:
            personal = any(name in _IDENTITY for name, _ in request.scope["headers"])
            raw.append(
                (b"cache-control", b"private, " + self.control if personal else self.control)
            )
        return raw, sorted(vary)

    def answer(
        self,
        status: int,
        raw: list[tuple[bytes, bytes]],
        body: bytes,
        request_headers: Any,
        outcome: bytes,
    ) -> Response:
        """The response to send: the stored one, or a 304 when the client holds its ETag."""
        etag = next((value for name, value in raw if name == b"etag"), None)
        wanted = request_headers.get("if-none-match")
        if etag is not None and wanted is not None and _etag_matches(wanted, etag):
            kept = [(name, value) for name, value in raw if name in _KEPT_ON_304]
            status, raw, body = 304, kept, b""
        if settings.DEBUG:
            raw = [*raw, (b"x-cache", outcome)]
        return CachedResponse(status, raw, body)


#: The headers a 304 repeats (RFC 9110 15.4.5).
_KEPT_ON_304 = frozenset(
    {b"etag", b"cache-control", b"vary", b"expires", b"content-location", b"date"}
)


def _request_of(args: Sequence[Any]) -> Request:
    for value in args[:2]:
        if isinstance(value, Request):
            return value
    raise TypeError(
        "@cache_response decorates an endpoint taking the request first (`async def "
        "endpoint(request)`) or a viewset action (`async def list(self, request)`)."
    )


def _name_of(piece: bytes) -> bytes:
    return piece.partition(b"=")[0]


def _headers(stored: list[Any]) -> list[tuple[bytes, bytes]]:
    return [(bytes(name), bytes(value)) for name, value in stored]


def _varied_key(base: str, names: list[str], headers: Any) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for name in names:
        digest.update(name.encode() + b"\0" + headers.get(name, "").encode("latin-1") + b"\0")
    return f"{base}:{digest.hexdigest()}"


def _etag_matches(wanted: str, etag: bytes) -> bool:
    tag = etag.decode("latin-1").removeprefix("W/")
    for part in wanted.split(","):
        candidate = part.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False
