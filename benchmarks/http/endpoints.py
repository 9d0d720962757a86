"""The endpoints every stack serves, each with the ``wrk`` request() function that loads it.

A script is the endpoint's request() function followed by ``bench_http.LUA_DONE`` (the
per-thread seeding and the JSON totals of ``done()``).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.bench_http import LUA_DONE

__all__ = ["ENDPOINTS", "Endpoint", "by_name", "script"]


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: its short name, what a request is, and its wrk request() function."""

    name: str
    label: str
    request: str
    #: True: it writes rows the harness removes after loading it.
    creates: bool = False


def _get(path: str) -> str:
    return f'function request()\n  return wrk.format("GET", "{path}")\nend\n'


_DETAIL = """
local slugs = {%(slugs)s}
function request()
  return wrk.format("GET", "/api/posts/" .. slugs[math.random(1, #slugs)] .. "/")
end
"""

# Unique slugs per thread and run; the posts are unpublished, so the list page is unchanged.
_CREATE = """
local counter = 0
local started = os.time()
local headers = {["Content-Type"] = "application/json"}
function request()
  counter = counter + 1
  local slug = "bench-" .. started .. "-" .. number .. "-" .. counter
  local body = '{"title": "Load ' .. counter .. '", "slug": "' .. slug .. '",'
    .. ' "content": "Written under load.", "author": ' .. math.random(1, 1000)
    .. ', "is_published": false}'
  return wrk.format("POST", "/api/posts/", headers, body)
end
"""

ENDPOINTS = (
    Endpoint("list", "GET /api/posts/?page=3", _get("/api/posts/?page=3")),
    Endpoint("detail", "GET /api/posts/<slug>/", _DETAIL),
    Endpoint("feed", "GET /api/feed/ (100 rows)", _get("/api/feed/")),
    Endpoint("create", "POST /api/posts/", _CREATE, creates=True),
    Endpoint("json", "GET /json", _get("/json")),
    Endpoint("db", "GET /db", _get("/db")),
    Endpoint("queries", "GET /queries?queries=20", _get("/queries?queries=20")),
    Endpoint("fortunes", "GET /fortunes", _get("/fortunes")),
    Endpoint("updates", "GET /updates?queries=20", _get("/updates?queries=20")),
)


def by_name(names: list[str]) -> list[Endpoint]:
    """The endpoints called *names*, in that order; a ValueError lists the valid names."""
    known = {endpoint.name: endpoint for endpoint in ENDPOINTS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"Unknown endpoint(s) {', '.join(unknown)}; choose from {', '.join(known)}."
        )
    return [known[name] for name in names]


def script(endpoint: Endpoint, slugs: list[str]) -> str:
    """The whole wrk script of *endpoint*; the detail endpoint picks among *slugs*."""
    request = endpoint.request
    if endpoint.name == "detail":
        request = request % {"slugs": ",".join(f'"{slug}"' for slug in slugs)}
    return request + LUA_DONE
