"""``/docs`` (Swagger UI) with its scripts and styles served by this server,
not fetched from a CDN: the API reference works on a machine with no internet, and a page
reads nothing from a third party. The assets come from the ``fastapi-offline`` package (MIT),
which ships Swagger UI 5 (it renders OpenAPI 3.1, which FastAPI emits). There is no ``/redoc``:
ReDoc's page fetches its logo from a CDN, and one reference page is enough.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

ASSETS = Path(fastapi_offline.__file__).parent / "static"
FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
         "favicon.png": "image/png"}
PREFIX = "/docs-assets"


def install(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect`` and their assets to ``app`` (built with
    ``docs_url=None, redoc_url=None``)."""

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    def swagger(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}/openapi.json", title=f"{app.title} · API reference",
            swagger_js_url=f"{base}{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{base}{PREFIX}/favicon.png",
            oauth2_redirect_url=f"{base}/docs/oauth2-redirect")

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(PREFIX + "/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in FILES:
            return Response(f"no asset {name!r}; the docs assets are {', '.join(FILES)}\n",
                            status_code=404, media_type="text/plain")
        return FileResponse(ASSETS / name, media_type=FILES[name],
                            headers={"Cache-Control": "public, max-age=86400"})
