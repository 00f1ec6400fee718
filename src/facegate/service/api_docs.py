"""Offline API docs: `/docs` (Swagger UI) and `/redoc` (ReDoc), every asset served by facegate.

The Swagger UI and ReDoc bundles come from the `fastapi-offline` wheel (MIT; Swagger UI
5.32.6 is Apache-2.0, ReDoc MIT), checked against the sha256 values below before they are
served; the two start-up scripts are facegate's own, so the pages need no inline script.
"""

from __future__ import annotations

import hashlib
from html import escape
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from facegate.service.errors import ApiError

STATIC_PREFIX = "/static/docs"

# sha256 of the files taken from fastapi-offline==1.7.7 (fastapi_offline/static/).
VENDOR_SHA256 = {
    "swagger-ui-bundle.js": "4b5a9b35a1adf37f00d39c0bae23cdb37007e2946240ef035137cc85b4d55349",
    "swagger-ui.css": "ca238f7d7c2cf4480c1e77a9c3b9da915ab216e96ffd354e69076560c650c6de",
    "redoc.standalone.js": "1320f442151c57c447d3b70c7ffc6c4f86d08464020fe34c8cc5d3164e9944f0",
    "favicon.png": "d16f72cf5a2773eba499cc7f3db1923c6f5f73de990f739e3a05806aafec15b7",
}
OWN_FILES = ("swagger-init.js", "redoc-init.js")
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
# Only this origin; ReDoc (styled-components) and Swagger UI set inline styles, ReDoc's search
# runs in a worker made from a blob: URL, Swagger UI draws its icons as data: images.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class DocsAssetError(RuntimeError):
    """A vendored docs file is missing or differs from its recorded sha256."""


def _vendor_dir() -> Path:
    """Return the folder of the fastapi-offline wheel's static files."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def load_assets() -> dict[str, bytes]:
    """Return every docs asset by name, the vendored ones checked against VENDOR_SHA256."""
    assets: dict[str, bytes] = {}
    folder = _vendor_dir()
    for name, expected in VENDOR_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DocsAssetError(f"{path} is missing (is fastapi-offline installed?)")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != expected:
            raise DocsAssetError(f"{path} does not match its recorded sha256 {expected}")
        assets[name] = data
    own = resources.files("facegate.service") / "docs_static"
    for name in OWN_FILES:
        assets[name] = (own / name).read_bytes()
    return assets


def _page(title: str, root: str, body: str, scripts: tuple[str, ...], styles: str = "") -> str:
    """Return a docs page shell loading only facegate's own files."""
    static = escape(root + STATIC_PREFIX)
    tags = "".join(f'<script src="{static}/{name}"></script>' for name in scripts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="icon" type="image/png" href="{static}/favicon.png">{styles}'
        f"</head><body>{body}{tags}</body></html>"
    )


def _html(content: str) -> HTMLResponse:
    """Return a docs page with the strict CSP and no framing or caching surprises."""
    headers = {
        "Content-Security-Policy": DOCS_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(content, headers=headers)


def docs_router(app: FastAPI, assets: dict[str, bytes]) -> APIRouter:
    """Return the routes of /docs, /redoc and the static files they load."""
    router = APIRouter(include_in_schema=False)

    def spec_url(request: Request) -> str:
        """Return the OpenAPI document's URL under the request's root path."""
        return escape(request.scope.get("root_path", "") + str(app.openapi_url))

    @router.get("/docs")
    def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI over the service's OpenAPI document."""
        root = request.scope.get("root_path", "")
        css = f'<link rel="stylesheet" href="{escape(root + STATIC_PREFIX)}/swagger-ui.css">'
        body = f'<div id="swagger-ui" data-openapi="{spec_url(request)}"></div>'
        scripts = ("swagger-ui-bundle.js", "swagger-init.js")
        return _html(_page(f"{app.title} - Swagger UI", root, body, scripts, css))

    @router.get("/redoc")
    def redoc(request: Request) -> HTMLResponse:
        """ReDoc over the service's OpenAPI document."""
        root = request.scope.get("root_path", "")
        body = f'<div id="redoc" data-openapi="{spec_url(request)}"></div>'
        scripts = ("redoc.standalone.js", "redoc-init.js")
        return _html(_page(f"{app.title} - ReDoc", root, body, scripts))

    @router.get(STATIC_PREFIX + "/{name}")
    def asset(name: str) -> Response:
        """One docs asset from memory (only the known names; nothing is read from a path)."""
        data = assets.get(name)
        if data is None:
            raise ApiError(404, "not_found", f"no docs asset {name!r}")
        headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
        return Response(data, media_type=MEDIA_TYPES[Path(name).suffix], headers=headers)

    return router


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from facegate's own files (the app must have docs_url=None)."""
    app.include_router(docs_router(app, load_assets()))
