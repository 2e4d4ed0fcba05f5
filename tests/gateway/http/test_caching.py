"""HTTP caching of GraphQL reads over GET, through the app's real middleware and view."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.http.caching import entity_tag, etag_matches
from tests.gateway.conftest import Gateway, OpenGateway

ITEM = '{ item(id: "i-001") { title } }'
REFUSED = '{ item(id: "") { title } }'
SHOP = "https://shop.example.com"


@pytest.mark.parametrize(
    ("if_none_match", "expected"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"xyz", "abc"', True),
        ("*", True),
        ('"xyz"', False),
        ("", False),
        (None, False),
    ],
)
def test_etag_matches_if_none_match(if_none_match: str | None, expected: bool) -> None:
    assert etag_matches(if_none_match, '"abc"') is expected


def test_entity_tag_is_quoted_and_follows_the_body() -> None:
    one, same, two = entity_tag(b"one"), entity_tag(b"one"), entity_tag(b"two")

    assert one == same, (one, same)
    assert one != two, one
    assert one[0] + one[-1] == '""', one


async def test_get_query_is_cacheable_for_the_configured_time(open_gateway: OpenGateway) -> None:
    async with open_gateway(http_cache_max_age=30) as gateway:
        response = await gateway.client.get("/graphql", params={"query": ITEM})

    assert (
        response.status_code,
        response.headers["cache-control"],
        response.headers["etag"],
        response.headers["vary"],
    ) == (200, "private, max-age=30", entity_tag(response.content), "Authorization, X-API-Key")


async def test_get_query_with_its_etag_is_not_modified(gateway: Gateway) -> None:
    first = await gateway.client.get("/graphql", params={"query": ITEM})

    again = await gateway.client.get(
        "/graphql", params={"query": ITEM}, headers={"If-None-Match": first.headers["etag"]}
    )

    assert (
        again.status_code,
        again.content,
        again.headers["etag"],
        again.headers["cache-control"],
        "content-type" in again.headers,
    ) == (304, b"", first.headers["etag"], "private, max-age=0", False)


async def test_get_query_with_another_etag_is_answered_in_full(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql", params={"query": ITEM}, headers={"If-None-Match": '"stale"'}
    )

    assert (response.status_code, response.json()) == (
        200,
        {"data": {"item": {"title": "Blue Sun Hat No. 1"}}},
    )


@pytest.mark.parametrize(
    ("method", "request_options"),
    [
        pytest.param("GET", {"params": {"query": REFUSED}}, id="get-with-errors"),
        pytest.param("POST", {"json": {"query": ITEM}}, id="post"),
    ],
)
async def test_query_with_errors_or_over_post_is_not_stored(
    gateway: Gateway, method: str, request_options: dict[str, Any]
) -> None:
    response = await gateway.client.request(method, "/graphql", **request_options)

    assert (
        response.status_code,
        response.headers["cache-control"],
        "etag" in response.headers,
    ) == (
        200,
        "no-store",
        False,
    )


async def test_mutation_over_get_is_refused_and_not_stored(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/graphql", params={"query": "mutation { recordEvents { accepted } }"}
    )

    assert (response.status_code, response.headers["cache-control"]) == (400, "no-store")


async def test_cors_preflight_is_cached_for_the_configured_time(open_gateway: OpenGateway) -> None:
    async with open_gateway(cors_origins=[SHOP], cors_max_age=1200) as gateway:
        response = await gateway.client.options(
            "/graphql",
            headers={
                "Origin": SHOP,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "content-type",
            },
        )

    assert (response.status_code, response.headers["access-control-max-age"]) == (200, "1200")
