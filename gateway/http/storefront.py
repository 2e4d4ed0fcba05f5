"""The demo storefront at /demo: a small shop written as a customer's app would be, on nothing
but the public GraphQL API. Plain ES modules from `gateway/static/storefront/`, no build step,
nothing from a CDN, under a Content-Security-Policy that allows only the gateway itself."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from gateway.http.assets import Assets

STATIC_DIRECTORY: Final = Path(__file__).parent.parent / "static" / "storefront"
DEMO_PATH: Final = "/demo"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


async def storefront_page(request: Request) -> Response:
    """The shop's one page; the modules route between its views with the URL's hash."""
    return FileResponse(STATIC_DIRECTORY / "index.html", headers=_HEADERS)


async def to_storefront(request: Request) -> Response:
    """The first URL a newcomer tries, while the storefront is on: on to the shop."""
    return RedirectResponse(DEMO_PATH, status_code=302)


def storefront_routes() -> list[BaseRoute]:
    """/demo (the page) and /demo/… (its assets); `to_storefront` is the app's / then."""
    return [
        Route(DEMO_PATH, storefront_page, methods=["GET"]),
        Mount(DEMO_PATH, app=Assets(STATIC_DIRECTORY, _HEADERS), name="storefront"),
    ]
