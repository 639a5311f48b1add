"""``/docs`` renders in a real headless Chromium from this server alone: every
script and style they load is served by Accord, none by a CDN."""

from __future__ import annotations

from tests.web.browser import Tab, chromium

from .live_server import Server

RESOURCES = "performance.getEntriesByType('resource').map(function(e){return e.name;})"


def test_swagger_ui_renders_every_operation_from_assets_the_server_serves(
        sqlite_server: Server) -> None:
    chromium()
    with sqlite_server.http() as client:
        paths = client.get("/openapi.json").json()["paths"]
    operations = sum(len(ops) for ops in paths.values())
    with Tab(f"{sqlite_server.url}/docs") as tab:
        shown = tab.wait_for(f"document.querySelectorAll('.opblock').length >= {operations} && "
                             "document.querySelectorAll('.opblock').length",
                             what="Swagger UI to render the API's operations")
        assert shown == operations
        assert tab.evaluate("!!document.querySelector('.opblock-summary-path[data-path=\"/v1/"
                            "proposals\"]')"), "POST /v1/proposals is listed"
        loaded = tab.evaluate(RESOURCES)
    assert any(url.endswith("/docs-assets/swagger-ui-bundle.js") for url in loaded)
    assert all(url.startswith(sqlite_server.url) for url in loaded), loaded


def test_there_is_one_api_reference_page_and_redoc_is_not_it(sqlite_server: Server) -> None:
    with sqlite_server.http() as h:
        assert h.get("/redoc").status_code == 404  # its page fetches a logo from a CDN
        assert h.get("/docs-assets/redoc.standalone.js").status_code == 404

def test_an_unknown_docs_asset_is_a_404_that_names_the_assets(sqlite_server: Server) -> None:
    with sqlite_server.http() as client:
        r = client.get("/docs-assets/nosuch.js")
    assert r.status_code == 404 and "swagger-ui-bundle.js" in r.text
