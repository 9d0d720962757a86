"""Request bodies: JSON only (415 otherwise), never more than MAX_BODY_BYTES (413), refused
from Content-Length before a byte is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request

import aksara
from aksara import Aksara
from aksara.api import Response, Router, ViewSet, action
from aksara.api.body import is_json, read_json_body
from aksara.exceptions import ConfigurationError


class EchoViewSet(ViewSet):
    @action(detail=False, methods=["post"])
    async def echo(self, request: Request) -> Response:
        body = await read_json_body(request)
        return Response({"body": body.decode() if isinstance(body, bytes) else body})


router = Router()
router.register("echo", EchoViewSet, basename="echo")
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


def test_json_media_types() -> None:
    assert is_json("application/json")
    assert is_json("Application/JSON; charset=utf-8")
    assert is_json("application/merge-patch+json")
    assert not is_json("text/plain")
    assert not is_json("application/x-www-form-urlencoded")
    assert not is_json("application/jsonp")


async def test_json_body_and_missing_content_type_are_read() -> None:
    async with client() as http:
        sent = await http.post("/api/echo/echo/", json={"a": 1})
        assert sent.json() == {"body": '{"a":1}'}
        bare = await http.post("/api/echo/echo/", content=b'{"b": 2}')
        assert "content-type" not in bare.request.headers
        assert bare.json() == {"body": '{"b": 2}'}
        empty = await http.post("/api/echo/echo/")
        assert empty.json() == {"body": {}}


async def test_other_content_types_are_a_415() -> None:
    async with client() as http:
        response = await http.post("/api/echo/echo/", data={"a": "1"})
        assert response.status_code == 415
        assert response.json() == {
            "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request; '
            "send application/json."
        }


async def test_body_over_the_limit_is_a_413() -> None:
    aksara.configure(MAX_BODY_BYTES=100)
    async with client() as http:
        fits = await http.post("/api/echo/echo/", content=b"x" * 100)
        assert fits.status_code == 200
        response = await http.post("/api/echo/echo/", content=b"x" * 101)
        assert response.status_code == 413
        assert response.json() == {"detail": "Request body is larger than 100 bytes."}


async def test_streamed_body_is_cut_when_it_passes_the_limit() -> None:
    aksara.configure(MAX_BODY_BYTES=1000)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(50):
            sent.append(1)
            yield b"y" * 100

    async with client() as http:
        response = await http.post("/api/echo/echo/", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert len(sent) <= 12  # reading stopped soon after the limit


async def test_content_length_over_the_limit_is_refused_before_reading() -> None:
    aksara.configure(MAX_BODY_BYTES=10)
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/echo/echo/",
        "raw_path": b"/api/echo/echo/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", b"5000000"), (b"content-type", b"application/json")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1234),
    }
    await APP(scope, receive, send)
    assert messages[0]["status"] == 413


async def test_malformed_content_length_is_a_400() -> None:
    async with client() as http:
        response = await http.post(
            "/api/echo/echo/", content=b"{}", headers={"content-length": "2x"}
        )
    assert response.status_code == 400


def test_max_body_bytes_setting() -> None:
    assert aksara.settings.MAX_BODY_BYTES == 1024 * 1024
    for wrong in (-1, 1.5, "1MB", True):
        with pytest.raises(ConfigurationError, match="MAX_BODY_BYTES must be an integer >= 0"):
            aksara.configure(MAX_BODY_BYTES=wrong)
