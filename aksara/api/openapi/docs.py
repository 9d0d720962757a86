"""Serving the document: ``/openapi.json`` and a Swagger UI page at ``/docs`` whose scripts
and styles come from the pinned ``openapi-ui-bundles`` package, served by the app itself
(no CDN: the page works offline). Swagger UI 5 renders OpenAPI 3.1."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import openapi_ui_bundles
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

__all__ = ["SWAGGER_UI_DIRECTORY", "docs_page", "openapi_routes"]

#: Where the Swagger UI bundle's files are (served under ``<docs_url>/static/``).
SWAGGER_UI_DIRECTORY = str(openapi_ui_bundles.swagger_ui.static_path)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {schema_url},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
"""


def docs_page(title: str, schema_url: str, static_url: str) -> str:
    """The HTML of the Swagger UI page for the document at *schema_url*."""
    return _PAGE.format(
        title=html.escape(title),
        static=html.escape(static_url, quote=True),
        # A JSON string is a JavaScript string; "</" is escaped so it cannot end the script.
        schema_url=orjson.dumps(schema_url).decode().replace("</", "<\\/"),
    )


def openapi_routes(
    schema: Callable[[], dict[str, Any]],
    *,
    title: str,
    openapi_url: str | None,
    docs_url: str | None,
) -> list[BaseRoute]:
    """The routes serving *schema*'s document at *openapi_url* and its page at *docs_url*
    (either None: not served). The document is encoded once, on the first request after
    *schema* returns a new one."""
    routes: list[BaseRoute] = []
    if openapi_url is None:
        return routes
    # The document last encoded and its bytes: encoded again only when it is replaced.
    encoded: list[Any] = [None, b""]

    async def document(request: Request) -> StarletteResponse:
        current = schema()
        if current is not encoded[0]:
            encoded[:] = [current, orjson.dumps(current)]
        return StarletteResponse(encoded[1], media_type="application/json")

    routes.append(Route(openapi_url, document, methods=["GET"], include_in_schema=False))
    if docs_url is None:
        return routes
    static_path = f"{docs_url.rstrip('/')}/static"

    async def page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        body = docs_page(title, f"{root}{openapi_url}", f"{root}{static_path}")
        return HTMLResponse(body)

    routes.append(Route(docs_url, page, methods=["GET"], include_in_schema=False))
    routes.append(Mount(static_path, app=StaticFiles(directory=SWAGGER_UI_DIRECTORY)))
    return routes
