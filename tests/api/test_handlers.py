"""Errors as JSON: API errors with their status and headers, a missing object as 404, and
any other exception as a 500 that hides the traceback and SQL unless DEBUG."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.requests import Request
from starlette.routing import Route

import aksara
from aksara import Aksara
from aksara.api import (
    NotAuthenticated,
    PermissionDenied,
    Response,
    Router,
    ValidationFailed,
    ViewSet,
)
from aksara.api.handlers import SERVER_ERROR
from aksara.db import Database
from examples.blog.models import Post


class FailingViewSet(ViewSet):
    async def list(self, request: Request) -> Response:
        kind = request.query_params["kind"]
        if kind == "auth":
            raise NotAuthenticated(headers={"WWW-Authenticate": "Bearer"})
        if kind == "denied":
            raise PermissionDenied()
        if kind == "invalid":
            raise ValidationFailed({"title": ["This field is required."]})
        if kind == "missing":
            await Post.objects.get(pk=12345)
        if kind == "sql":
            await aksara.get_database().fetch("SELECT secret_column FROM no_such_table")
        raise ZeroDivisionError("the secret is 42")


def plain_endpoint(request: Request) -> Response:
    raise PermissionDenied("Not from a viewset either.")


router = Router()
router.register("failing", FailingViewSet, basename="failing")
APP = Aksara(routes=[Route("/plain", plain_endpoint, methods=["GET"])])
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


async def test_api_errors_keep_status_detail_and_headers() -> None:
    async with client() as http:
        auth = await http.get("/api/failing/?kind=auth")
        assert auth.status_code == 401
        assert auth.json() == {"detail": "Authentication credentials were not provided."}
        assert auth.headers["www-authenticate"] == "Bearer"
        denied = await http.get("/api/failing/?kind=denied")
        assert denied.status_code == 403
        invalid = await http.get("/api/failing/?kind=invalid")
        assert (invalid.status_code, invalid.json()) == (
            400,
            {"title": ["This field is required."]},
        )
        plain = await http.get("/plain")
        assert (plain.status_code, plain.json()) == (403, {"detail": "Not from a viewset either."})
        wrong_method = await http.post("/plain")
        assert wrong_method.status_code == 405
        assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}
        assert wrong_method.json() == {"detail": 'Method "POST" not allowed.'}


async def test_object_does_not_exist_is_a_404(db: Database) -> None:
    async with client() as http:
        response = await http.get("/api/failing/?kind=missing")
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})


async def test_server_error_hides_traceback_and_sql_but_logs_them(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with client() as http:
        with caplog.at_level(logging.ERROR, logger="aksara.api"):
            response = await http.get("/api/failing/?kind=boom")
            sql = await http.get("/api/failing/?kind=sql")
    assert response.status_code == 500
    assert response.json() == {"detail": SERVER_ERROR}
    assert sql.status_code == 500
    assert sql.json() == {"detail": SERVER_ERROR}
    assert "secret" not in sql.text and "secret" not in response.text
    records = [record for record in caplog.records if record.name == "aksara.api"]
    assert len(records) == 2
    assert "GET /api/failing/" in records[0].getMessage()
    assert records[0].exc_info is not None and records[0].exc_info[0] is ZeroDivisionError
    assert "no_such_table" in str(records[1].exc_info[1])  # type: ignore[index]


async def test_server_error_under_debug_shows_type_message_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    aksara.configure(DEBUG=True)
    async with client() as http:
        with caplog.at_level(logging.ERROR, logger="aksara.api"):
            response = await http.get("/api/failing/?kind=boom")
    assert response.status_code == 500
    body = response.json()
    assert body["detail"] == SERVER_ERROR
    assert body["type"] == "builtins.ZeroDivisionError"
    assert body["message"] == "the secret is 42"
    assert any("raise ZeroDivisionError" in line for line in body["traceback"])
    assert len(caplog.records) == 1
