"""The API docs pages, with their scripts, styles and favicon served by the shop itself.

FastAPI's default pages load Swagger UI and ReDoc from CDNs: offline, or behind a proxy
that blocks them, ``/docs`` is a blank page. Here the pages are FastAPI's own
(``get_swagger_ui_html``, ``get_redoc_html``, as its "self-hosting JavaScript and CSS for
docs" guide shows) pointed at the copies the ``fastapi-offline`` package vendors: Swagger UI
5 (which renders OpenAPI 3.1), ReDoc 2 and a favicon. The app is made with
``docs_url=None, redoc_url=None`` and ``install_docs`` adds these instead.

Each page states the Content-Security-Policy it needs: this server only, plus the inline
bootstrap FastAPI's page carries, allowed by its hash. ReDoc also needs inline styles (it
injects them at run time) and a ``blob:`` worker (its search index). The policy also keeps
the one outside reference in ReDoc's bundle, the Redocly logo of its sidebar credit, from
being requested (the credit then hides the image).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shop_api.core.security_headers import inline_hashes

ASSETS_PATH = "/docs/assets"
# The package's own folder of assets: swagger-ui-bundle.js, swagger-ui.css,
# redoc.standalone.js, favicon.png.
ASSETS_PACKAGE = ("fastapi_offline", "static")

# Directives both pages share; each adds its script-src and style-src.
BASE_POLICY = (
    "default-src 'none'",
    "connect-src 'self'",  # the OpenAPI document, and Swagger UI's "Try it out"
    "img-src 'self' data:",  # the favicon, and icons inlined in the stylesheets
    "font-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)

router = APIRouter(include_in_schema=False)


def install_docs(app: FastAPI) -> None:
    """Serve the vendored assets and the ``/docs`` and ``/redoc`` pages."""
    app.mount(ASSETS_PATH, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")
    app.include_router(router)


def content_security_policy(page: str, *directives: str) -> str:
    """The shared policy plus ``directives``, with each of ``page``'s inline scripts
    allowed by its hash in ``script-src 'self'``."""
    hashes = inline_hashes(page.encode(), "script-src")
    return "; ".join([*BASE_POLICY, " ".join(["script-src 'self'", *hashes]), *directives])


def _with_policy(page: HTMLResponse, *directives: str) -> HTMLResponse:
    html = bytes(page.body).decode()
    policy = content_security_policy(html, *directives)
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def _urls(request: Request) -> tuple[str, str]:
    """The OpenAPI document's and the assets' paths, under a proxy's root path too."""
    root = request.scope.get("root_path", "").rstrip("/")
    return f"{root}{request.app.openapi_url}", f"{root}{ASSETS_PATH}"


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI: every operation, with "Try it out"."""
    openapi_url, assets = _urls(request)
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        oauth2_redirect_url=None,  # the password flow posts to /auth/token, no redirect
        # No badge from the public validator service: the page talks to this server only.
        swagger_ui_parameters={**(request.app.swagger_ui_parameters or {}), "validatorUrl": None},
    )
    return _with_policy(page, "style-src 'self'")


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    """ReDoc: the same document as a three-panel reference."""
    openapi_url, assets = _urls(request)
    page = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )
    return _with_policy(page, "style-src 'self' 'unsafe-inline'", "worker-src blob:")
