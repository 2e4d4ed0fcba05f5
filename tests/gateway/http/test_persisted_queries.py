"""Automatic Persisted Queries: the store, and Apollo's exchange over the app's real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from strawberry.http import GraphQLRequestData

from gateway.http.app import create_app
from gateway.http.persisted_queries import (
    PersistedQueries,
    PersistedQueryNotFound,
    PersistedQueryNotSupported,
    PersistedQueryRefused,
    hash_query,
)
from gateway.settings import Settings
from gateway.wiring import LOCAL_CREDENTIALS
from tests.gateway.conftest import Gateway, OpenGateway, Store
from tests.nodejs import run_node
from tests.servers import serve

QUERY = "query Item($id: ID!) { item(id: $id) { title } }"
HASH = hash_query(QUERY)
NOT_FOUND = {
    "data": None,
    "errors": [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ],
}
ITEM = {"data": {"item": {"title": "Blue Sun Hat No. 1"}}}


def extension(sha256_hash: str = HASH, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha256_hash}}


def request(query: str | None, extensions: dict[str, Any] | None) -> GraphQLRequestData:
    return GraphQLRequestData(
        query=query, variables=None, operation_name=None, extensions=extensions
    )


def by_hash(sha256_hash: str = HASH) -> dict[str, str]:
    """The query string of a GET by hash, as Apollo Client's persisted-query link sends it."""
    return {
        "operationName": "Item",
        "variables": json.dumps({"id": "i-001"}),
        "extensions": json.dumps(extension(sha256_hash)),
    }


def with_query(query: str = QUERY, sha256_hash: str = HASH) -> dict[str, Any]:
    """The POST body of the retry with the query, as the link sends it."""
    return {
        "operationName": "Item",
        "variables": {"id": "i-001"},
        "query": query,
        "extensions": extension(sha256_hash),
    }


def test_hash_query_is_the_sha256_clients_send() -> None:
    # As Node computes it: createHash("sha256").update(query).digest("hex"), like Apollo.
    assert hash_query("query { __typename }") == (
        "8995e953e895e960e470a1ee90e4b29520981980dcbc5e51ce0d7a2169b7049e"
    )


async def test_store_registers_a_query_sent_with_its_hash() -> None:
    store = PersistedQueries(max_bytes=10_000)

    await store.resolve(request(QUERY, extension()))

    assert (await store.resolve(request(None, extension()))).query == QUERY


async def test_store_without_the_hash_raises_not_found() -> None:
    store = PersistedQueries(max_bytes=10_000)

    with pytest.raises(PersistedQueryNotFound):
        await store.resolve(request(None, extension()))


async def test_store_refuses_a_hash_that_is_not_the_querys() -> None:
    store = PersistedQueries(max_bytes=10_000)

    with pytest.raises(PersistedQueryRefused, match=r"^provided sha does not match query$"):
        await store.resolve(request("{ __typename }", extension()))
    assert len(store) == 0


async def test_store_refuses_another_version() -> None:
    store = PersistedQueries(max_bytes=10_000)

    with pytest.raises(PersistedQueryRefused, match="Unsupported persisted query version 2"):
        await store.resolve(request(QUERY, extension(version=2)))


async def test_store_refuses_a_hash_that_is_not_hex_sha256() -> None:
    store = PersistedQueries(max_bytes=10_000)

    with pytest.raises(PersistedQueryRefused, match="lower-case hex"):
        await store.resolve(request(None, extension(HASH.upper())))


async def test_store_drops_the_least_recently_used_past_its_size() -> None:
    store = PersistedQueries(max_bytes=20)
    queries = ["{ a b c }", "{ d e f }", "{ g h i }"]  # 9 bytes each
    await store.resolve(request(queries[0], extension(hash_query(queries[0]))))
    await store.resolve(request(queries[1], extension(hash_query(queries[1]))))
    await store.resolve(request(None, extension(hash_query(queries[0]))))  # the first is used again

    await store.resolve(request(queries[2], extension(hash_query(queries[2]))))

    assert ([hash_query(query) in store for query in queries], store.size) == (
        [True, False, True],
        18,
    )


async def test_store_runs_but_does_not_keep_a_query_larger_than_itself() -> None:
    store = PersistedQueries(max_bytes=20)
    query = "{ " + "a " * 20 + "}"

    resolved = await store.resolve(request(query, extension(hash_query(query))))

    assert (resolved.query, len(store), store.size) == (query, 0, 0)


async def test_store_of_size_zero_does_not_support_persisted_queries() -> None:
    store = PersistedQueries(max_bytes=0)

    with pytest.raises(PersistedQueryNotSupported):
        await store.resolve(request(QUERY, extension()))


async def test_store_leaves_requests_without_the_extension_alone() -> None:
    store = PersistedQueries(max_bytes=10_000)
    plain = request(QUERY, {"tracing": True})

    assert (await store.resolve(plain), len(store)) == (plain, 0)


async def test_app_unknown_hash_over_get_is_persisted_query_not_found(gateway: Gateway) -> None:
    response = await gateway.client.get("/graphql", params=by_hash())

    assert (response.status_code, response.headers["cache-control"], response.json()) == (
        200,
        "private, no-cache, must-revalidate",
        NOT_FOUND,
    )


async def test_app_unknown_hash_is_json_even_for_a_browser(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql", params=by_hash(), headers={"Accept": "text/html,*/*"}
    )

    assert (response.headers["content-type"], response.json()) == ("application/json", NOT_FOUND)


async def test_app_runs_a_registered_hash_over_get(gateway: Gateway) -> None:
    registered = await gateway.client.post("/graphql", json=with_query())

    response = await gateway.client.get("/graphql", params=by_hash())

    assert (registered.json(), response.status_code, response.json()) == (ITEM, 200, ITEM)


async def test_app_answers_apollo_clients_exchange(gateway: Gateway) -> None:
    first = await gateway.client.get("/graphql", params=by_hash())
    retry = await gateway.client.post("/graphql", json=with_query())
    again = await gateway.client.get("/graphql", params=by_hash())
    revalidated = await gateway.client.get(
        "/graphql", params=by_hash(), headers={"If-None-Match": again.headers["etag"]}
    )

    assert [
        (first.status_code, first.json()),
        (retry.status_code, retry.json()),
        (again.status_code, again.json(), again.headers["cache-control"]),
        (revalidated.status_code, revalidated.content),
    ] == [
        (200, NOT_FOUND),
        (200, ITEM),
        (200, ITEM, "private, max-age=0"),
        (304, b""),
    ]


async def test_app_never_runs_a_persisted_mutation_over_get(gateway: Gateway) -> None:
    mutation = (
        'mutation Record { recordEvents(input: {sessionId: "s-1", events: []}) { accepted } }'
    )
    persisted = extension(hash_query(mutation))
    await gateway.client.post("/graphql", json={"query": mutation, "extensions": persisted})

    response = await gateway.client.get("/graphql", params={"extensions": json.dumps(persisted)})

    assert (response.status_code, response.headers["cache-control"]) == (400, "no-store")
    assert "mutations are not allowed when using GET" in response.text


async def test_app_refuses_a_hash_that_does_not_match_the_query(gateway: Gateway) -> None:
    response = await gateway.client.post("/graphql", json=with_query(sha256_hash="0" * 64))

    assert (response.status_code, response.json()) == (
        400,
        {
            "data": None,
            "errors": [
                {
                    "message": "provided sha does not match query",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ],
        },
    )


async def test_app_with_persisted_queries_off_says_not_supported(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(persisted_queries_max_bytes=0) as gateway:
        response = await gateway.client.post("/graphql", json=with_query())

    assert (response.status_code, response.json()["errors"][0]["extensions"]) == (
        200,
        {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
    )


def test_apollo_clients_persisted_query_link_registers_then_gets_by_hash(
    node: str, settings: Settings, store: Store
) -> None:
    with serve(create_app(settings, credentials=LOCAL_CREDENTIALS)) as url:
        run = run_node(node, "apollo-client.mjs", f"{url}/graphql", "u-03")

    exchanges = [
        (
            exchange["method"],
            "query" in exchange["params"] or "query" in (exchange["body"] or {}),
            exchange["status"],
            exchange["cacheControl"],
            exchange["etag"] is not None,
        )
        for exchange in run["exchanges"]
    ]
    items = [result["recommendations"]["items"] for result in run["results"]]
    assert exchanges == [
        ("GET", False, 200, "private, no-cache, must-revalidate", False),
        ("POST", True, 200, "no-store", False),
        ("GET", False, 200, "private, max-age=0", True),
    ]
    assert (len(items[0]), items[0] == items[1]) == (3, True)
    assert [entry["item"]["title"] for entry in items[0]] == [
        store.titles[entry["itemId"]] for entry in items[0]
    ]


async def test_app_refuses_a_query_with_a_lone_surrogate_by_its_hash(gateway: Gateway) -> None:
    body = json.dumps({"query": '{ item(id: "\ud800") { title } }', "extensions": extension()})

    response = await gateway.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert (response.status_code, response.json()["errors"][0]["message"]) == (
        400,
        "provided sha does not match query",
    )
