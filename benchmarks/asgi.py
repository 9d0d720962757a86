"""In-process ASGI requests for the benchmarks: one GET scope and an empty body, so that a
timed loop calls the app straight through its ASGI interface, with no client in between."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["get", "http_scope", "receive_empty"]

Headers = Sequence[tuple[bytes, bytes]]


def http_scope(path: str, headers: Headers = ()) -> dict[str, Any]:
    """The scope of ``GET path`` (a ``?query`` included) from 127.0.0.1, *headers* added."""
    route, _, query = path.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def receive_empty() -> dict[str, Any]:
    """The request's body: none."""
    return {"type": "http.request", "body": b"", "more_body": False}


async def get(
    app: Callable[[dict[str, Any], Any, Any], Awaitable[None]], path: str, headers: Headers = ()
) -> int:
    """One in-process ``GET path``; the response's status."""
    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(http_scope(path, headers), receive_empty, send)
    return status
