"""Before measuring: every stack answers each endpoint with the same data.

Bodies are compared after normalising what may differ between correct stacks: the host
and port of ``next`` / ``previous`` links, how a datetime is spelled (``Z`` or ``+00:00``),
the feed's cursor encoding, HTML escapes and whitespace of the fortunes page. Random rows
(``/db``, ``/queries``, ``/updates``) and created posts are checked for their shape.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

__all__ = ["MismatchError", "check_endpoint", "fetch", "normalise"]

_HOST = re.compile(r"^https?://[^/]+")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?$")
_TAG_GAP = re.compile(r">\s+<")
_WORLD_KEYS = ["id", "randomNumber"]


class MismatchError(RuntimeError):
    """A stack answers an endpoint differently from the reference stack."""


def fetch(base: str, method: str, path: str, body: Any = None) -> tuple[int, str, bytes]:
    """``(status, content type, body)`` of one request to *base* + *path*."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def normalise(value: Any) -> Any:
    """*value* with links stripped of their host and datetimes parsed."""
    if isinstance(value, dict):
        return {key: normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    if isinstance(value, str):
        if _DATETIME.match(value):
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return _HOST.sub("", value)
    return value


def _json(answer: tuple[int, str, bytes]) -> tuple[int, Any]:
    status, content_type, body = answer
    if not content_type.startswith("application/json"):
        raise MismatchError(f"{status}: not JSON ({content_type!r}): {body[:300]!r}")
    return status, normalise(json.loads(body))


def _fortunes(answer: tuple[int, str, bytes]) -> tuple[int, Any]:
    status, content_type, body = answer
    if content_type.replace(" ", "").lower() != "text/html;charset=utf-8":
        raise MismatchError(f"fortunes: Content-Type {content_type!r}, not text/html; utf-8")
    text = _TAG_GAP.sub("><", body.decode().strip())
    if "&lt;script&gt;" not in text:
        raise MismatchError("fortunes: the <script> fortune is not escaped")
    return status, html.unescape(text).lower()


def _world(row: Any) -> bool:
    return (
        isinstance(row, dict)
        and list(row) == _WORLD_KEYS
        and all(isinstance(v, int) and 1 <= v <= 10_000 for v in row.values())
    )


def _worlds(path: str, count: int | None) -> Callable[[str], Any]:
    def answer(base: str) -> Any:
        status, rows = _json(fetch(base, "GET", path))
        rows_ok = (
            _world(rows)
            if count is None
            else (isinstance(rows, list) and len(rows) == count and all(map(_world, rows)))
        )
        if status != 200 or not rows_ok:
            raise MismatchError(f"GET {path}: {status} {str(rows)[:300]}")
        return "ok"

    return answer


def _created(base: str) -> Any:
    """A valid post (201, its fields echoed) and an invalid one (400, per field)."""
    post = {
        "title": "Checked",
        "slug": "bench-check",
        "content": "c",
        "author": 1,
        "is_published": False,
    }
    status, body = _json(fetch(base, "POST", "/api/posts/", post))
    expected = ["id", "title", "slug", "content", "author", "is_published"]
    expected += ["view_count", "created_at"]
    if status != 201 or list(body) != expected:
        raise MismatchError(f"POST /api/posts/: {status} {str(body)[:300]}")
    if not isinstance(body["id"], int) or not isinstance(body["created_at"], dt.datetime):
        raise MismatchError(f"POST /api/posts/: id or created_at wrong: {body}")
    invalid = {"title": "", "slug": "Not a slug!", "author": 10**6, "is_published": False}
    bad_status, errors = _json(fetch(base, "POST", "/api/posts/", invalid))
    if bad_status != 400 or not isinstance(errors, dict):
        raise MismatchError(f"POST /api/posts/ (invalid): {bad_status} {str(errors)[:300]}")
    return {key: value for key, value in body.items() if key not in ("id", "created_at")}, sorted(
        errors
    )


def _feed(base: str) -> Any:
    status, body = _json(fetch(base, "GET", "/api/feed/"))
    if list(body) != ["next", "previous", "results"] or body["previous"] is not None:
        raise MismatchError(f"GET /api/feed/: keys {list(body)}, previous {body['previous']}")
    return status, body["results"], body["next"] is not None


def _get_json(path: str) -> Callable[[str], Any]:
    return lambda base: _json(fetch(base, "GET", path))


def _detail(slugs: list[str]) -> Callable[[str], Any]:
    paths = [f"/api/posts/{slug}/" for slug in (*slugs, "no-such-post")]
    return lambda base: [_json(fetch(base, "GET", path)) for path in paths]


def _answers(name: str, slugs: list[str]) -> Callable[[str], Any]:
    table: dict[str, Callable[[str], Any]] = {
        "list": _get_json("/api/posts/?page=3"),
        "detail": _detail(slugs),
        "feed": _feed,
        "create": _created,
        "json": _get_json("/json"),
        "db": _worlds("/db", None),
        "queries": _worlds("/queries?queries=20", 20),
        "fortunes": lambda base: _fortunes(fetch(base, "GET", "/fortunes")),
        "updates": _worlds("/updates?queries=20", 20),
    }
    return table[name]


def check_endpoint(name: str, bases: dict[str, str], slugs: list[str]) -> None:
    """Raise MismatchError unless every stack of *bases* (stack -> URL) answers endpoint
    *name* as the first one does; *slugs* are the detail pages compared."""
    answer = _answers(name, slugs)
    reference_stack, *others = bases
    try:
        reference = answer(bases[reference_stack])
    except MismatchError as error:
        raise MismatchError(f"{reference_stack}: {error}") from None
    for stack in others:
        try:
            got = answer(bases[stack])
        except MismatchError as error:
            raise MismatchError(f"{stack}: {error}") from None
        if got != reference:
            raise MismatchError(
                f"{stack} answers {name} differently from {reference_stack}:\n"
                f"{str(got)[:1500]}\n---\n{str(reference)[:1500]}"
            )
