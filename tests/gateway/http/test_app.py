"""The app over HTTP, inside its real lifespan, on the real clients and the local Personalize."""

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest

from emulator import LocalPersonalize
from gateway.catalog.sqlite import CatalogError
from gateway.http.app import GatewayState, create_app
from gateway.http.request_id import REQUEST_ID_HEADER
from gateway.settings import Settings
from gateway.wiring import LOCAL_CREDENTIALS
from schema.ports import CatalogUnavailable
from tests.gateway.conftest import Gateway, OpenGateway, Store, captured_records

ALL_FIELDS = """
query All($user: ID!, $item: ID!, $items: [ID!]!) {
  recommendations(userId: $user, numResults: 25) { items { itemId item { id title } } }
  relatedItems(itemId: $item, numResults: 25) { items { itemId item { id title } } }
  ranking(userId: $user, items: $items) { items { itemId item { id title } } }
  item(id: $item) { id title }
}
"""
ITEM = '{ item(id: "i-001") { title } }'
RECOMMENDATIONS = '{ recommendations(userId: "u-01", numResults: 2) { items { item { title } } } }'
SHOP = "https://shop.example.com"


def entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry
        for field in ("recommendations", "relatedItems", "ranking")
        for entry in data[field]["items"]
    ]


async def test_app_answers_every_root_field_with_catalog_titles(
    gateway: Gateway, store: Store
) -> None:
    result = await gateway.query(
        ALL_FIELDS, {"user": "u-01", "item": "i-001", "items": store.item_ids[:20]}
    )

    found = [*entries(result["data"]), {"itemId": "i-001", "item": result["data"]["item"]}]
    assert (
        "errors" in result,
        [(len(result["data"][f]["items"])) for f in ("recommendations", "relatedItems", "ranking")],
        all(entry["item"]["title"] == store.titles[entry["itemId"]] for entry in found),
    ) == (False, [25, 25, 20], True)


async def test_app_looks_every_item_up_in_one_catalog_round_trip(
    gateway: Gateway, store: Store, personalize: LocalPersonalize
) -> None:
    personalize.faults.jitter_ms = 30  # root fields answer at different times
    ranked = store.item_ids[:20]

    result = await gateway.query(ALL_FIELDS, {"user": "u-02", "item": "i-003", "items": ranked})

    looked_up = [entry["itemId"] for entry in entries(result["data"])] + ["i-003"]
    assert len(looked_up) > len(set(looked_up)) >= 40  # many lookups, ids repeated
    assert (
        gateway.state["catalog"].round_trips,
        personalize.stats.calls("GetRecommendations"),
        personalize.stats.calls("GetPersonalizedRanking"),
    ) == (1, 2, 1)


async def test_app_answers_queries_over_get(gateway: Gateway) -> None:
    response = await gateway.client.get("/graphql", params={"query": ITEM})

    assert (response.status_code, response.json()) == (
        200,
        {"data": {"item": {"title": "Blue Sun Hat No. 1"}}},
    )


async def test_app_refuses_mutations_over_get(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql", params={"query": "mutation { recordEvents { ok } }"}
    )

    assert (response.status_code, response.json()) == (
        400,
        {
            "errors": [
                {
                    "message": "mutations are not allowed when using GET",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        },
    )


async def test_app_item_missing_from_catalog_is_null(gateway: Gateway) -> None:
    result = await gateway.query('{ item(id: "no-such-item") { title } }')

    assert result == {"data": {"item": None}}


async def test_app_healthz_answers_without_dependencies(gateway: Gateway) -> None:
    response = await gateway.client.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_app_readyz_ready(gateway: Gateway) -> None:
    response = await gateway.client.get("/readyz")

    body = response.json()
    assert (response.status_code, body["status"], body["checks"], body["details"]["breaker"]) == (
        200,
        "ready",
        {"catalog": "ok", "personalize": "ok"},
        "closed",
    )


async def test_app_readyz_names_a_failing_catalog(
    open_gateway: OpenGateway, store: Store, tmp_path: Path
) -> None:
    catalog_path = Path(shutil.copy(store.catalog_path, tmp_path / "catalog.db"))
    async with open_gateway(catalog_path=catalog_path) as gateway:
        with closing(sqlite3.connect(catalog_path)) as writer:
            writer.execute("DROP TABLE items")
        response = await gateway.client.get("/readyz")

    assert (response.status_code, response.json()["checks"]) == (
        503,
        {
            "catalog": f"catalog {catalog_path} cannot be read: no such table: items",
            "personalize": "ok",
        },
    )


async def test_app_readyz_not_ready_without_arns(open_gateway: OpenGateway) -> None:
    async with open_gateway(
        recommendations_arn=None, related_items_arn=None, ranking_arn=None
    ) as gateway:
        response = await gateway.client.get("/readyz")

    assert (response.status_code, response.json()["checks"]["personalize"]) == (
        503,
        "no campaign or recommender ARN configured (GATEWAY_RECOMMENDATIONS_ARN, "
        "GATEWAY_RELATED_ITEMS_ARN, GATEWAY_RANKING_ARN)",
    )


async def test_app_cors_preflight_from_an_allowed_origin(open_gateway: OpenGateway) -> None:
    async with open_gateway(cors_origins=[SHOP]) as gateway:
        response = await gateway.client.options(
            "/graphql",
            headers={
                "Origin": SHOP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )

    assert (response.status_code, response.headers["access-control-allow-origin"]) == (200, SHOP)


async def test_app_cors_preflight_from_another_origin_refused(open_gateway: OpenGateway) -> None:
    async with open_gateway(cors_origins=[SHOP]) as gateway:
        response = await gateway.client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )

    assert (response.status_code, "access-control-allow-origin" in response.headers) == (400, False)


async def test_app_without_cors_origins_sends_no_cors_headers(gateway: Gateway) -> None:
    response = await gateway.client.post("/graphql", json={"query": ITEM}, headers={"Origin": SHOP})

    assert [name for name in response.headers if name.startswith("access-control-")] == []


async def test_app_echoes_the_clients_request_id(gateway: Gateway) -> None:
    response = await gateway.client.get("/healthz", headers={REQUEST_ID_HEADER: "trace-42"})

    assert response.headers[REQUEST_ID_HEADER] == "trace-42"


async def test_app_replaces_an_unsafe_request_id(gateway: Gateway) -> None:
    response = await gateway.client.get("/healthz", headers={REQUEST_ID_HEADER: "a b\tc"})

    assert len(response.headers[REQUEST_ID_HEADER]) == 32


async def test_app_request_id_reaches_log_records(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.error_rate = 1.0
    with captured_records("gateway.personalize.errors") as records:
        await gateway.client.post(
            "/graphql",
            json={"query": '{ recommendations(userId: "u-01") { items { itemId } } }'},
            headers={REQUEST_ID_HEADER: "trace-7"},
        )

    assert [getattr(record, "request_id", None) for record in records] == ["trace-7"]


async def test_app_serves_graphiql_from_its_own_assets(gateway: Gateway) -> None:
    response = await gateway.client.get("/graphql", headers={"Accept": "text/html"})

    assert (response.status_code, "/graphiql-static/graphiql.min.js" in response.text) == (
        200,
        True,
    )


async def test_app_without_graphiql_has_no_ide(open_gateway: OpenGateway) -> None:
    async with open_gateway(graphiql=False) as gateway:
        response = await gateway.client.get("/graphql", headers={"Accept": "text/html"})

    assert response.status_code == 404


async def test_app_lifespan_opens_clients_and_closes_them(settings: Settings) -> None:
    app = create_app(settings, credentials=LOCAL_CREDENTIALS)

    async with app.router.lifespan_context(app) as lifespan_state:
        state = cast(GatewayState, lifespan_state)
        runtime, events, catalog = (
            state["personalize_runtime"],
            state["personalize_events"],
            state["catalog"],
        )
        clients = (
            runtime.meta.service_model.service_name,
            runtime.meta.endpoint_url,
            events.meta.service_model.service_name,
            events.meta.endpoint_url,
        )
        await runtime.get_recommendations(campaignArn=settings.recommendations_arn, userId="u-01")
        # aiobotocore keeps its aiohttp sessions here; they hold the pooled connections.
        http_sessions = list(runtime._endpoint.http_session._sessions.values())

    assert clients == (
        "personalize-runtime",
        settings.personalize_endpoint_url,
        "personalize-events",
        settings.personalize_endpoint_url,
    )
    assert [session.closed for session in http_sessions] == [True]
    with pytest.raises(CatalogUnavailable, match="cannot be read: Connection closed"):
        await catalog.ping()


async def test_app_startup_fails_without_a_catalog(settings: Settings, tmp_path: Path) -> None:
    app = create_app(
        Settings(**settings.model_dump() | {"catalog_path": tmp_path / "none.db"}),
        credentials=LOCAL_CREDENTIALS,
    )

    with pytest.raises(CatalogError, match=r"none\.db does not exist"):
        async with app.router.lifespan_context(app):
            pass


def production() -> dict[str, Any]:
    """Production's settings as `Settings` resolves them (open_gateway passes every field)."""
    resolved = Settings(environment="production")
    return {name: getattr(resolved, name) for name in ("environment", "introspection", "graphiql")}


async def test_app_production_refuses_introspection_but_serves_the_subgraph_sdl(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(**production()) as gateway:
        introspection = await gateway.query("{ __schema { queryType { name } } }")
        sdl = await gateway.query("{ _service { sdl } }")

    assert (
        introspection.get("data"),
        {error["extensions"]["code"] for error in introspection["errors"]},
        "type Item" in sdl["data"]["_service"]["sdl"],
    ) == (None, {"GRAPHQL_VALIDATION_FAILED"}, True)


async def test_app_production_has_no_ide(open_gateway: OpenGateway) -> None:
    async with open_gateway(**production()) as gateway:
        response = await gateway.client.get("/graphql", headers={"Accept": "text/html"})

    assert (response.status_code, response.json()["errors"][0]["extensions"]["code"]) == (
        404,
        "NOT_FOUND",
    )


async def test_app_production_hides_field_suggestions(open_gateway: OpenGateway) -> None:
    async with open_gateway(**production()) as gateway:
        result = await gateway.query('{ itme(id: "i-001") { id } }')

    assert result["errors"][0]["message"] == "Cannot query field 'itme' on type 'Query'."


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ("production", "Internal server error."),
        ("development", "Internal server error. RuntimeError: ranking model is corrupt"),
    ],
)
async def test_app_unexpected_error_is_masked_in_production_only(
    open_gateway: OpenGateway, monkeypatch: pytest.MonkeyPatch, environment: str, message: str
) -> None:
    async with open_gateway(environment=environment) as gateway:
        monkeypatch.setattr(gateway.state["recommender"], "recommend", fail_with_a_bug)
        result = await gateway.query(RECOMMENDATIONS)

    assert [(error["message"], error["extensions"]["code"]) for error in result["errors"]] == [
        (message, "INTERNAL_SERVER_ERROR")
    ]


async def fail_with_a_bug(**arguments: Any) -> Any:
    raise RuntimeError("ranking model is corrupt")


async def fail_with_corrupt_catalog(item_ids: Any) -> Any:
    raise RuntimeError("catalog file is corrupt")


async def test_app_catalog_failure_leaves_the_recommendations_standing(
    open_gateway: OpenGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_gateway(**production()) as gateway:
        monkeypatch.setattr(gateway.state["catalog"], "get_items", fail_with_corrupt_catalog)
        result = await gateway.query(RECOMMENDATIONS)

    items = result["data"]["recommendations"]["items"]
    assert [item["item"] for item in items] == [None, None], items
    assert [(error["message"], error["extensions"]) for error in result["errors"]] == [
        (
            "The catalog failed to answer.",
            {
                "code": "CATALOG_UNAVAILABLE",
                "paths": [
                    ["recommendations", "items", 0, "item"],
                    ["recommendations", "items", 1, "item"],
                ],
            },
        )
    ], result["errors"]


async def test_app_masked_error_is_logged_with_its_detail_and_request_id(
    open_gateway: OpenGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    with captured_records("schema") as records:
        async with open_gateway(**production()) as gateway:
            monkeypatch.setattr(gateway.state["recommender"], "recommend", fail_with_a_bug)
            await gateway.client.post(
                "/graphql",
                json={"query": RECOMMENDATIONS},
                headers={REQUEST_ID_HEADER: "trace-8"},
            )

    assert [
        (getattr(record, "request_id", None), str(record.exc_info and record.exc_info[1]))
        for record in records
    ] == [("trace-8", "ranking model is corrupt")]


@pytest.mark.parametrize(
    ("changes", "query", "code"),
    [
        (
            {"max_query_depth": 2},
            '{ relatedItems(itemId: "i-001") { items { itemId } } }',
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            {"max_query_aliases": 1},
            '{ a: item(id: "i-001") { id } b: item(id: "i-002") { id } }',
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ({"max_query_tokens": 100}, "{ " + "__typename " * 100 + "}", "GRAPHQL_PARSE_FAILED"),
    ],
    ids=["depth", "aliases", "tokens"],
)
async def test_app_document_limits_come_from_settings(
    open_gateway: OpenGateway, changes: dict[str, int], query: str, code: str
) -> None:
    async with open_gateway(**changes) as gateway:
        result = await gateway.query(query)

    assert [error["extensions"]["code"] for error in result["errors"]] == [code]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
            "Batched requests (a JSON array of operations) are not supported: send one "
            "operation per request; one operation may ask for several root fields.",
        ),
        (b'{"query": ', "The request is not valid JSON: Expecting value at line 1, column 11."),
        (
            b'"{ __typename }"',
            'A GraphQL request is a JSON object such as {"query": "...", "variables": {}}, '
            "not a JSON str.",
        ),
        (b"\xff\xfe\x00", "The request is not UTF-8 encoded JSON."),
        (b"[" * 100_000 + b"]" * 100_000, "The request's JSON is nested too deeply."),
        (b"1" + b"0" * 5000, "The request's JSON holds a number too long to read."),
    ],
    ids=["batch", "truncated", "string", "not-utf-8", "deep", "long-number"],
)
async def test_app_unusable_body_is_a_400_shaped_like_graphql(
    gateway: Gateway, content: bytes, message: str
) -> None:
    response = await gateway.client.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )

    assert (response.status_code, response.json()) == (
        400,
        {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]},
    )


async def test_app_root_redirects_to_graphql_without_the_storefront(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(storefront=False) as gateway:
        response = await gateway.client.get("/")

    assert response.status_code == 302, response.status_code
    assert response.headers["location"] == "/graphql", response.headers


async def test_app_shared_link_opens_graphiql_in_a_browser(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql",
        params={"query": '{ item(id: "i-001") { title } }'},
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )

    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert 'data-query="{ item(id: &quot;i-001&quot;) { title } }"' in response.text


async def test_app_get_query_from_an_api_client_stays_json(gateway: Gateway, store: Store) -> None:
    response = await gateway.client.get(
        "/graphql", params={"query": '{ item(id: "i-001") { title } }'}
    )

    assert response.json() == {"data": {"item": {"title": store.titles["i-001"]}}}, response.text


async def test_app_item_cache_spares_the_catalog_and_shows_in_readyz(
    open_gateway: OpenGateway,
) -> None:
    query = '{ recommendations(userId: "u-03", numResults: 5) { items { item { title } } } }'
    async with open_gateway(item_cache_ttl=60) as gateway:
        first = await gateway.query(query)
        second = await gateway.query(query)
        details = (await gateway.client.get("/readyz")).json()["details"]

    assert second == first, second
    assert gateway.state["catalog"].round_trips == 1, gateway.state["catalog"].round_trips
    assert details["item_cache"]["hits"] == 5, details
    assert details["item_cache"]["misses"] == 5, details
