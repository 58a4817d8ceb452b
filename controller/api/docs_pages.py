"""The API docs page (/docs) with Swagger UI served by the hall itself, never from a CDN.

An offline hall network cannot reach a CDN, and a script from one would run on the origin whose
localStorage holds the hall's tokens. The Swagger UI files come from the `fastapi-offline`
package (PyPI); ReDoc is not offered (its styles need inline <style> that the CSP refuses).
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

ASSETS_PATH = "/docs-assets"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def self_hosted_docs(app: FastAPI) -> None:
    """Serve /docs and its assets from this app (create the app with docs_url/redoc_url None)."""
    openapi_url = app.openapi_url or "/openapi.json"
    files: dict[str, bytes] = {}

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - 接口文档",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        )

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media_type = _ASSETS.get(name)
        if media_type is None:
            return Response(status_code=404)
        if name not in files:
            files[name] = asset_bytes(name)
        return Response(
            files[name], media_type=media_type, headers={"Cache-Control": "max-age=86400"}
        )


def asset_bytes(name: str) -> bytes:
    """One Swagger UI file as shipped in the fastapi-offline package."""
    return resources.files("fastapi_offline").joinpath("static", name).read_bytes()
