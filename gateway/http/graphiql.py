"""GraphiQL served by the gateway itself, so the IDE works offline and under a strict CSP.

Strawberry's own IDE page loads React and GraphiQL from a public CDN. Here the page and
every asset it needs come from the gateway (`gateway/static/graphiql/`, written by
`scripts/vendor-graphiql`), and the page carries a Content-Security-Policy allowing only
'self' (plus a per-response nonce for the styles GraphiQL's dialogs add).
"""

import functools
import hashlib
import secrets
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from strawberry.asgi import GraphQL
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.typevars import Context, RootValue

from gateway.http.assets import Assets

STATIC_DIRECTORY: Final = Path(__file__).parent.parent / "static" / "graphiql"
STATIC_PATH: Final = "/graphiql-static"
STATIC_ROUTE_NAME: Final = "graphiql-static"

# Radix UI's dialogs (settings, keyboard shortcuts) add a <style> element while open; its
# text carries a counter, so no hash can allow it: a per-response nonce does, for styles only.
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'nonce-{style_nonce}'; "
    "script-src 'self'; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)

DEFAULT_QUERY: Final = """\
query Recommendations {
  recommendations(userId: "u-00001", numResults: 5) {
    recommendationId
    items {
      itemId
      score
      item { title category price imageUrl }
    }
  }
}
"""

# The IDE page: no inline script or style. The scripts run in this order because
# GraphiQL's UMD bundle expects the React and ReactDOM globals; the last one mounts it and
# hands GraphiQL the style nonce from its own `nonce` attribute.
_PAGE: Final = """\
<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GraphiQL · Personalize gateway</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{graphiql_css}">
    <link rel="stylesheet" href="{page_css}">
  </head>
  <body>
    <div id="graphiql" data-default-query="{default_query}"{shared}>Loading…</div>
    <script src="{react_js}"></script>
    <script src="{react_dom_js}"></script>
    <script src="{graphiql_js}"></script>
    <script src="{init_js}" nonce="{style_nonce}"></script>
  </body>
</html>
"""
_PAGE_ASSETS: Final = {
    "graphiql_css": "graphiql.min.css",
    "page_css": "graphiql-page.css",
    "react_js": "react.production.min.js",
    "react_dom_js": "react-dom.production.min.js",
    "graphiql_js": "graphiql.min.js",
    "init_js": "graphiql-init.js",
}

# Asset URLs carry a digest of the file (?v=...), so the assets can be cached for a year
# and a re-vendored GraphiQL still reaches every browser at once.
_ASSET_HEADERS: Final = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}


class GraphiQLView(GraphQL[Context, RootValue]):
    """Strawberry's ASGI GraphQL view whose IDE page is the locally served GraphiQL.

    Needs the routes from `graphiql_routes()` in the same application. Any enabled
    `graphql_ide` value gives this GraphiQL; `graphql_ide=None` still turns the IDE off.
    """

    default_query: str = DEFAULT_QUERY

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """A browser's GET without a query, as Strawberry decides; and a browser's GET of a
        shared link with `?query=…` (it asks for HTML first, API clients never do), which
        opens GraphiQL with the query filled in instead of running it."""
        if request.method == "GET" and request.query_params.get("query") is not None:
            return "text/html" in request.headers.get("accept", "").lower()
        return super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> Response:
        style_nonce = secrets.token_urlsafe(18)
        shared = {
            name: request.query_params[name]
            for name in ("query", "variables")
            if request.query_params.get(name)
        }
        return HTMLResponse(
            render_page(
                request, default_query=self.default_query, style_nonce=style_nonce, shared=shared
            ),
            headers={
                "Content-Security-Policy": CONTENT_SECURITY_POLICY.format(style_nonce=style_nonce),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )


def graphiql_routes() -> list[BaseRoute]:
    """The routes serving GraphiQL's assets; add them to the app that serves `GraphiQLView`."""
    return [
        Mount(STATIC_PATH, app=Assets(STATIC_DIRECTORY, _ASSET_HEADERS), name=STATIC_ROUTE_NAME)
    ]


def render_page(
    request: Request,
    *,
    default_query: str,
    style_nonce: str,
    shared: Mapping[str, str] | None = None,
) -> str:
    """The IDE's HTML, its assets served by `graphiql_routes()` in the same app; `shared`
    (`query`, `variables`) fills the editors, as a shared link asks."""
    return _PAGE.format(
        **{key: _asset_url(request, name) for key, name in _PAGE_ASSETS.items()},
        default_query=escape(default_query, quote=True),
        shared="".join(
            f' data-{name}="{escape(value, quote=True)}"' for name, value in (shared or {}).items()
        ),
        style_nonce=style_nonce,
    )


def _asset_url(request: Request, name: str) -> str:
    path = request.url_for(STATIC_ROUTE_NAME, path=name).path
    return f"{escape(path, quote=True)}?v={_fingerprint(name)}"


@functools.cache
def _fingerprint(name: str) -> str:
    return hashlib.sha256((STATIC_DIRECTORY / name).read_bytes()).hexdigest()[:16]
