"""The API reference page at ``/schema``: Swagger UI, served from files shipped in this package.

The page references no other host, so it works offline, and every visit runs the same pinned UI (the files and
where they come from: ``swagger_ui/README.md``). The OpenAPI document itself stays at ``/schema/openapi.json``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

SWAGGER_UI_VERSION = "5.35.0"
ASSETS_DIRECTORY = Path(__file__).parent / "swagger_ui"
#: The version is part of the path, so a browser may keep the files for a year: a new version is a new URL.
ASSETS_PATH = f"/schema/ui/{SWAGGER_UI_VERSION}"


class OfflineSwaggerUI(OpenAPIRenderPlugin):
    """Swagger UI from :data:`ASSETS_PATH` (Litestar's own plugins load their UI from a CDN)."""

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(
            path=path,
            favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">',
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(openapi_schema["info"]["title"])
        settings = {
            "url": self.get_openapi_json_route(request),
            "dom_id": "#swagger-ui",
            "deepLinking": True,
            "validatorUrl": "none",  # its default sends the document to a public validator
        }
        return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{title}</title>
    {self.favicon}
    <link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
    {self.style}
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script>window.ui = SwaggerUIBundle({json.dumps(settings)});</script>
  </body>
</html>
""".encode()


def schema_ui_assets() -> Router:
    """The UI's files, public (no credential) and cacheable for a year."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[ASSETS_DIRECTORY],
        name="schema-ui",
        cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True, immutable=True),
        include_in_schema=False,
    )
