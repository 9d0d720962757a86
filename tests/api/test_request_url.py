"""``request_url``: the same text as ``str(request.url)`` for every kind of scope."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from aksara.api.querystring import request_url, with_param


def _request(**overrides: Any) -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "path": "/api/posts/",
        "query_string": b"page=3&q=a%20b",
        "headers": [(b"accept", b"*/*"), (b"host", b"example.com:8000")],
        "server": ("127.0.0.1", 8000),
    }
    scope.update(overrides)
    return Request(scope)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"scheme": "https", "headers": [(b"host", b"example.com")]},
        {"headers": []},
        {"headers": [], "server": ["10.0.0.1", 80]},
        {"headers": [], "server": ("::1", 8443), "scheme": "https"},
        {"headers": [], "server": None},
        {"headers": [(b"host", b"bad host")], "server": ("127.0.0.1", 9000)},
        {"headers": [(b"host", b"[::1]:8000")]},
        {"path": "/a?b#c\\d", "query_string": b""},
        {"root_path": "/prefix", "path": "/prefix/api/posts/"},
    ],
)
def test_request_url_matches_starlette(overrides: dict[str, Any]) -> None:
    assert request_url(_request(**overrides)) == str(_request(**overrides).url)


def test_request_url_follows_each_request() -> None:
    first = request_url(_request(query_string=b"page=2"))
    second = request_url(_request(query_string=b"page=4"))
    other_host = request_url(_request(headers=[(b"host", b"other.test")]))
    assert first == "http://example.com:8000/api/posts/?page=2"
    assert second == "http://example.com:8000/api/posts/?page=4"
    assert other_host == "http://other.test/api/posts/?page=3&q=a%20b"


def test_with_param_takes_the_text_of_a_url() -> None:
    url = request_url(_request())
    assert with_param(url, "page", 4) == "http://example.com:8000/api/posts/?page=4&q=a+b"
    assert with_param(url, "page", None) == "http://example.com:8000/api/posts/?q=a+b"
