import re
from html.parser import HTMLParser

import httpx
import strawberry
from graphql import parse, validate
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from gateway.http.graphiql import DEFAULT_QUERY, GraphiQLView, graphiql_routes
from schema import schema as gateway_schema

HTML = {"Accept": "text/html"}


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


def build_app(*, ide: bool = True) -> Starlette:
    view: GraphiQLView[None, None] = GraphiQLView(
        strawberry.Schema(Query), graphql_ide="graphiql" if ide else None
    )
    return Starlette(routes=[Route("/graphql", view), *graphiql_routes()])


async def get(
    app: Starlette,
    path: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        return await client.get(path, headers=headers, params=params)


class PageParser(HTMLParser):
    """The tags of a page, as (tag, attributes) pairs."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def attribute(self, tag: str, name: str) -> list[str | None]:
        return [attrs.get(name) for found, attrs in self.tags if found == tag]


async def test_graphiql_page_sends_strict_csp_with_a_style_nonce() -> None:
    response = await get(build_app(), "/graphql", HTML)

    policy = re.sub(
        r"'nonce-[A-Za-z0-9_-]+'", "'nonce-N'", response.headers["content-security-policy"]
    )
    assert policy == (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'nonce-N'; "
        "script-src 'self'; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


async def test_graphiql_page_nonce_is_the_init_script_nonce() -> None:
    response = await get(build_app(), "/graphql", HTML)

    header_nonce = re.findall(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert PageParser(response.text).attribute("script", "nonce")[-1:] == header_nonce


async def test_graphiql_page_nonce_changes_per_response() -> None:
    app = build_app()

    first, second = [await get(app, "/graphql", HTML) for _ in range(2)]

    assert first.headers["content-security-policy"] != second.headers["content-security-policy"]


async def test_graphiql_page_forbids_sniffing_and_storing() -> None:
    response = await get(build_app(), "/graphql", HTML)

    assert (response.headers["x-content-type-options"], response.headers["cache-control"]) == (
        "nosniff",
        "no-store",
    )


async def test_graphiql_page_has_no_inline_script_or_style() -> None:
    response = await get(build_app(), "/graphql", HTML)

    page = PageParser(response.text)
    inline = [
        (tag, attrs)
        for tag, attrs in page.tags
        if tag == "style" or "style" in attrs or (tag == "script" and not attrs.get("src"))
    ]
    assert inline == []


async def test_graphiql_page_links_only_assets_the_app_serves() -> None:
    app = build_app()
    page = PageParser((await get(app, "/graphql", HTML)).text)
    links = [
        link
        for link in page.attribute("script", "src") + page.attribute("link", "href")
        if link and not link.startswith("data:")
    ]

    statuses = {link: (await get(app, link)).status_code for link in links}

    assert statuses == {
        link: 200 for link in links if link.startswith("/graphiql-static/") and "?v=" in link
    }
    assert len(statuses) == 6


async def test_graphiql_asset_is_cached_for_a_year() -> None:
    response = await get(build_app(), "/graphiql-static/graphiql.min.js")

    assert (response.headers["cache-control"], response.headers["x-content-type-options"]) == (
        "public, max-age=31536000, immutable",
        "nosniff",
    )


async def test_graphiql_page_carries_the_default_query() -> None:
    response = await get(build_app(), "/graphql", HTML)

    assert PageParser(response.text).attribute("div", "data-default-query") == [DEFAULT_QUERY]


async def test_graphiql_page_under_a_mount_prefix_links_assets_under_it() -> None:
    app = Starlette(routes=[Mount("/api", app=build_app())])

    page = PageParser((await get(app, "/api/graphql", HTML)).text)

    assert {src.split("?")[0] for src in page.attribute("script", "src") if src} == {
        "/api/graphiql-static/react.production.min.js",
        "/api/graphiql-static/react-dom.production.min.js",
        "/api/graphiql-static/graphiql.min.js",
        "/api/graphiql-static/graphiql-init.js",
    }


async def test_graphiql_turned_off_gives_not_found() -> None:
    response = await get(build_app(ide=False), "/graphql", HTML)

    assert response.status_code == 404


def test_default_query_is_valid_against_the_gateway_schema() -> None:
    errors = validate(gateway_schema._schema, parse(DEFAULT_QUERY))

    assert errors == []


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
SHARED_QUERY = '{ hello } # "quoted" <b>'


async def test_graphiql_shared_link_fills_in_the_query_and_variables() -> None:
    response = await get(
        build_app(), "/graphql", BROWSER, params={"query": SHARED_QUERY, "variables": '{"a": 1}'}
    )

    page = PageParser(response.text)
    assert page.attribute("div", "data-query") == [SHARED_QUERY], response.text
    assert page.attribute("div", "data-variables") == ['{"a": 1}'], response.text


async def test_graphiql_page_without_a_shared_query_fills_in_none() -> None:
    response = await get(build_app(), "/graphql", HTML)

    assert PageParser(response.text).attribute("div", "data-query") == [None], response.text


async def test_graphiql_get_with_a_query_from_an_api_client_is_answered_in_json() -> None:
    response = await get(build_app(), "/graphql", {"Accept": "*/*"}, params={"query": "{ hello }"})

    assert response.json() == {"data": {"hello": "world"}}, response.text
