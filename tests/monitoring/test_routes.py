"""Route labels: the template of the matched route, mounts' prefixes included (a request
into a mount that matches nothing there is the mount's), also on a Starlette that does not
put the route in the scope."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

import aksara
from aksara import Aksara
from aksara.monitoring.middleware import UNMATCHED_ROUTE
from tests.monitoring.helpers import client_for, scrape, value


async def item(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"]})


class ForgetRoute:
    """Removes ``scope["route"]`` before the response goes out, as Starlette < 1 never set it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        async def forget(message: MutableMapping[str, Any]) -> None:
            scope.pop("route", None)
            await send(message)

        await self.app(scope, receive, forget)


ROUTES = [
    Route("/items/{id}", item),
    Mount("/v1", routes=[Mount("/shop", routes=[Route("/items/{id}", item)])]),
]


@pytest.mark.parametrize("forget", [False, True], ids=["route in scope", "route not in scope"])
async def test_templates_with_mount_prefixes(forget: bool) -> None:
    aksara.configure(METRICS={})
    middleware = [Middleware(ForgetRoute)] if forget else []
    app = Aksara(routes=ROUTES, middleware=middleware)
    async with client_for(app) as client:
        before = await scrape(client)
        assert (await client.get("/items/first-raw-id")).json() == {"id": "first-raw-id"}
        assert (await client.get("/v1/shop/items/second-raw-id")).json() == {"id": "second-raw-id"}
        assert (await client.get("/v1/shop/nothing")).status_code == 404
        assert (await client.get("/nothing/at/all")).status_code == 404
        after = await scrape(client)

    def grew(route: str, status: str = "200") -> float:
        labels = {"method": "GET", "route": route, "status": status}
        name = "aksara_http_requests_total"
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("/items/{id}") == 1
    assert grew("/v1/shop/items/{id}") == 1
    assert grew("/v1/shop", "404") == 1  # into the mount, matching nothing there
    assert grew(UNMATCHED_ROUTE, "404") == 1
    assert "raw-id" not in after and "nothing" not in after
