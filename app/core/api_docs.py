"""Swagger UI (``/api/docs``) and ReDoc (``/api/redoc``) from files shipped with the app.

FastAPI's own pages load Swagger UI and ReDoc from a CDN: scripts from another origin running on
the app's origin, and a blank page on a network without internet. The assets here come from the
PyPI package ``fastapi-offline`` (Swagger UI 5 and ReDoc 2 bundles), served under
``/api/docs/assets``; the pages have no inline script, so the docs' Content-Security-Policy
(:data:`app.core.http_security.DOCS_CSP`) can say ``script-src 'self'``.

"Try it out" in Swagger UI sends the session cookie of a signed-in browser; the request
interceptor adds ``X-Pult-Request: 1`` to same-origin calls so they pass the CSRF check
(:mod:`app.core.http_security`), as the app's own pages do.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/api/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

SWAGGER_INIT = """
(function () {
  var script = document.currentScript;
  window.ui = SwaggerUIBundle({
    url: script.dataset.openapi,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    requestInterceptor: function (req) {
      if (new URL(req.url, window.location.href).origin === window.location.origin) {
        req.headers["X-Pult-Request"] = "1";
      }
      return req;
    },
  });
})();
"""


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{html.escape(title)}</title>\n"
        f"<link rel=\"icon\" href=\"{ASSETS_URL}/favicon.png\">\n{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )


def mount_docs(app: FastAPI, openapi_url: str) -> None:
    """Add ``/api/docs``, ``/api/redoc`` and their assets to ``app`` (built with ``docs_url=None``)."""
    router = APIRouter(include_in_schema=False)
    spec = html.escape(openapi_url, quote=True)

    @router.get("/api/docs")
    def swagger_ui() -> HTMLResponse:
        return _page(
            f"{app.title} — Swagger UI",
            f"<link rel=\"stylesheet\" href=\"{ASSETS_URL}/swagger-ui.css\">\n",
            f"<div id=\"swagger-ui\"></div>\n<script src=\"{ASSETS_URL}/swagger-ui-bundle.js\"></script>\n"
            f"<script src=\"/api/docs/init.js\" data-openapi=\"{spec}\"></script>\n",
        )

    @router.get("/api/docs/init.js")
    def swagger_init() -> Response:
        return Response(SWAGGER_INIT, media_type="text/javascript")

    @router.get("/api/redoc")
    def redoc() -> HTMLResponse:
        return _page(
            f"{app.title} — ReDoc",
            "",
            f"<redoc spec-url=\"{spec}\"></redoc>\n<script src=\"{ASSETS_URL}/redoc.standalone.js\"></script>\n",
        )

    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
