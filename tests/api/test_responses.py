"""``Response``: JSON encoded once, headers as given, no body for a 204."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

from aksara.api import Response


def test_data_is_encoded_as_json() -> None:
    key = uuid.UUID(int=1)
    response = Response(
        {
            "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            "price": decimal.Decimal("1.50"),
            "id": key,
        }
    )
    assert response.status_code == 200
    assert response.body == (
        b'{"when":"2026-01-02T03:04:05Z","price":"1.50","id":"00000000-0000-0000-0000-000000000001"}'
    )
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.body))
    assert response.data["price"] == decimal.Decimal("1.50")


def test_204_and_none_have_no_body() -> None:
    empty = Response(status=204)
    assert empty.body == b"" and empty.raw_headers == []
    nothing = Response(None)
    assert nothing.body == b"" and dict(nothing.headers) == {"content-length": "0"}


def test_given_headers_replace_the_defaults() -> None:
    response = Response(
        [1], status=202, headers={"Content-Type": "application/vnd.api+json", "X-Id": "7"}
    )
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/vnd.api+json"
    assert response.headers["x-id"] == "7"
    assert response.headers.getlist("content-type") == ["application/vnd.api+json"]
