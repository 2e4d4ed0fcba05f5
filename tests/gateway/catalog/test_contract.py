"""One contract, every catalog source: each filled from the same items CSV by `catalog load`
(or, for the product API and Personalize, holding the same items), read by the gateway over
its real client, answering the same GraphQL queries the same way."""

from __future__ import annotations

import csv
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from emulator import LocalPersonalize
from gateway.catalog.load import load_catalog_to
from gateway.catalog.source import DynamoDBSource, PostgresqlSource, SqliteSource
from gateway.settings import DEFAULT_CATALOG_PATH
from tests.gateway.catalog.product_service import ProductService
from tests.gateway.conftest import Gateway, OpenGateway, Store
from tests.servers import free_port, serve

REGION = "us-east-1"
FIELDS = "id title description imageUrl price category attributes"
DETAILS = (
    "query($user: ID!) { recommendations(userId: $user, numResults: 10) "
    f"{{ items {{ itemId item {{ {FIELDS} }} }} }} }}"
)


@dataclass
class Source:
    """How the gateway reaches one source, and how the source counts the lookups it answers."""

    name: str
    settings: dict[str, Any]
    down: dict[str, Any]  # the same source, not answering
    lookups: Callable[[Gateway], int] = lambda gateway: gateway.state["catalog"].round_trips
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def product_service(store: Store) -> Iterator[tuple[ProductService, str]]:
    service = ProductService(store.directory / "items.csv")
    with serve(service.app) as base_url:
        yield service, f"{base_url}/products"


def dead_url(scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{free_port()}"


SOURCES = ["sqlite", "dynamodb", "postgresql", "product-api-get", "product-api-post"]


@pytest.fixture(scope="session", params=SOURCES)
def source(
    request: pytest.FixtureRequest, store: Store, tmp_path_factory: pytest.TempPathFactory
) -> Source:
    items_csv = store.directory / "items.csv"
    name: str = request.param
    if name == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "catalog.db"
        load_catalog_to(SqliteSource(path), items_csv)
        broken = path.with_name("broken.db")
        return Source(
            name,
            {"catalog_url": f"sqlite:///{path}"},
            {"catalog_url": f"sqlite:///{broken}"},
            extra={"good": path, "broken": broken},
        )
    if name == "dynamodb":
        request.getfixturevalue("aws_credentials")
        endpoint = request.getfixturevalue("dynamodb_url")
        load_catalog_to(DynamoDBSource("items", REGION, endpoint), items_csv)
        query = f"region={REGION}&attributes=COLOUR&endpoint_url="
        return Source(
            name,
            {"catalog_url": f"dynamodb://items?{query}{endpoint}"},
            {"catalog_url": f"dynamodb://items?{query}{dead_url()}"},
        )
    if name == "postgresql":
        url = request.getfixturevalue("postgres_url")
        load_catalog_to(PostgresqlSource(url, "shop_items"), items_csv)
        return Source(
            name,
            {"catalog_url": f"{url}?table=shop_items"},
            {"catalog_url": f"{dead_url('postgresql')}/postgres?table=shop_items"},
        )
    service, url = request.getfixturevalue("product_service")
    method = name.rpartition("-")[2].upper()
    options = {"catalog_http_method": method, "catalog_items_path": "data.products"}
    return Source(
        name,
        {"catalog_url": url, **options},
        {"catalog_url": f"{dead_url()}/products", **options},
        lookups=lambda gateway: service.requests,
    )


@asynccontextmanager
async def open_down(open_gateway: OpenGateway, source: Source) -> AsyncIterator[Gateway]:
    """The gateway on `source` while it does not answer (a SQLite file: its table dropped)."""
    if "broken" in source.extra:
        shutil.copy(source.extra["good"], source.extra["broken"])
    async with open_gateway(**source.down, catalog_path=DEFAULT_CATALOG_PATH) as gateway:
        if "broken" in source.extra:
            with sqlite3.connect(source.extra["broken"]) as writer:
                writer.execute("DROP TABLE items")
            writer.close()
        yield gateway


def expected_items(store: Store) -> dict[str, dict[str, Any]]:
    """The items CSV's items as the API shows them."""
    with open(store.directory / "items.csv", newline="", encoding="utf-8") as file:
        return {
            row["ITEM_ID"]: {
                "id": row["ITEM_ID"],
                "title": row["TITLE"],
                "description": None,
                "imageUrl": row["IMAGE_URL"],
                "price": float(row["PRICE"]),
                "category": row["CATEGORY"],
                "attributes": {"COLOUR": row["COLOUR"]},
            }
            for row in csv.DictReader(file)
        }


async def test_source_answers_the_items_of_the_csv(
    open_gateway: OpenGateway, source: Source, store: Store
) -> None:
    async with open_gateway(**source.settings, catalog_path=DEFAULT_CATALOG_PATH) as gateway:
        result = await gateway.query(DETAILS, {"user": store.user_ids[0]})

    assert "errors" not in result, result
    expected = expected_items(store)
    items = result["data"]["recommendations"]["items"]
    assert len(items) == 10, items
    for entry in items:
        assert entry["item"] == expected[entry["itemId"]], entry


async def test_source_is_asked_once_for_every_item_of_a_query(
    open_gateway: OpenGateway, source: Source, store: Store
) -> None:
    query = """query($user: ID!, $item: ID!) {
      recommendations(userId: $user, numResults: 5) { items { item { title } } }
      relatedItems(itemId: $item, numResults: 5) { items { item { title } } }
      ranking(userId: $user, items: ["i-001", "i-002", "nope"]) { items { item { title } } }
      item(id: $item) { title }
    }"""
    async with open_gateway(**source.settings, catalog_path=DEFAULT_CATALOG_PATH) as gateway:
        before = source.lookups(gateway)
        result = await gateway.query(query, {"user": store.user_ids[0], "item": "i-003"})
        lookups = source.lookups(gateway) - before

    assert "errors" not in result, result
    assert lookups == 1, lookups


async def test_source_gives_null_for_items_it_lacks(
    open_gateway: OpenGateway, source: Source, store: Store
) -> None:
    query = """query($user: ID!) {
      ranking(userId: $user, items: ["i-001", "nope"]) { items { itemId item { id } } }
      item(id: "i-999") { id }
    }"""
    async with open_gateway(**source.settings, catalog_path=DEFAULT_CATALOG_PATH) as gateway:
        result = await gateway.query(query, {"user": store.user_ids[0]})

    assert "errors" not in result, result
    ranked = {e["itemId"]: e["item"] for e in result["data"]["ranking"]["items"]}
    assert ranked == {"i-001": {"id": "i-001"}, "nope": None}, ranked
    assert result["data"]["item"] is None, result["data"]


async def test_source_down_leaves_the_recommendations_with_one_error(
    open_gateway: OpenGateway, source: Source, store: Store
) -> None:
    query = """query($user: ID!) {
      recommendations(userId: $user, numResults: 3) { items { itemId item { title } } }
    }"""
    async with open_down(open_gateway, source) as gateway:
        result = await gateway.query(query, {"user": store.user_ids[0]})

    items = result["data"]["recommendations"]["items"]
    assert [entry["item"] for entry in items] == [None, None, None], items
    assert all(entry["itemId"] for entry in items), items
    codes = [error["extensions"]["code"] for error in result["errors"]]
    assert codes == ["CATALOG_UNAVAILABLE"], result["errors"]
    paths = result["errors"][0]["extensions"]["paths"]
    assert paths == [["recommendations", "items", n, "item"] for n in range(3)], paths


async def test_readiness_checks_the_source(open_gateway: OpenGateway, source: Source) -> None:
    async with open_gateway(**source.settings, catalog_path=DEFAULT_CATALOG_PATH) as gateway:
        up = (await gateway.client.get("/readyz")).json()["checks"]["catalog"]
    async with open_down(open_gateway, source) as gateway:
        response = await gateway.client.get("/readyz")

    assert up == "ok", up
    assert response.status_code == 503, response.text


# `personalize:` where it applies: the details come with the recommendations, so there is no
# lookup to count and no catalog to be down; `item(id)` and `_entities` have nothing to ask.
PERSONALIZE = {
    "catalog_url": "personalize:?columns=TITLE,IMAGE_URL,PRICE,CATEGORY,COLOUR",
    "catalog_path": DEFAULT_CATALOG_PATH,
}


async def test_personalize_metadata_answers_the_items_of_the_csv(
    open_gateway: OpenGateway, personalize: LocalPersonalize, store: Store
) -> None:
    async with open_gateway(**PERSONALIZE) as gateway:
        result = await gateway.query(DETAILS, {"user": store.user_ids[0]})

    assert "errors" not in result, result
    expected = expected_items(store)
    items = result["data"]["recommendations"]["items"]
    assert len(items) == 10, items
    for entry in items:
        assert entry["item"] == expected[entry["itemId"]], entry
    asked = personalize.stats.last_request("GetRecommendations")["metadataColumns"]
    assert asked == {"ITEMS": ["TITLE", "IMAGE_URL", "PRICE", "CATEGORY", "COLOUR"]}, asked


async def test_personalize_metadata_needs_no_lookup_and_has_no_item_by_id(
    open_gateway: OpenGateway, personalize: LocalPersonalize, store: Store
) -> None:
    query = """query($user: ID!) {
      recommendations(userId: $user, numResults: 5) { items { item { title } } }
      ranking(userId: $user, items: ["i-001", "i-002"]) { items { item { title } } }
      item(id: "i-001") { title }
    }"""
    async with open_gateway(**PERSONALIZE) as gateway:
        result = await gateway.query(query, {"user": store.user_ids[0]})
        lookups = gateway.state["catalog"].round_trips

    assert "errors" not in result, result
    titles = [e["item"]["title"] for e in result["data"]["ranking"]["items"]]
    assert sorted(titles) == sorted(store.titles[i] for i in ("i-001", "i-002")), titles
    assert result["data"]["item"] is None, result["data"]
    assert lookups == 0, lookups
    assert personalize.stats.calls("GetPersonalizedRanking") == 1


@pytest.mark.parametrize(
    "query",
    [
        '{ recommendations(userId: "u-01", numResults: 51) { items { itemId } } }',
        '{ relatedItems(itemId: "i-001", numResults: 51) { items { itemId } } }',
        '{ ranking(userId: "u-01", items: ITEMS) { items { itemId } } }'.replace(
            "ITEMS", str([f"i-{n:03d}" for n in range(1, 52)]).replace("'", '"')
        ),
    ],
)
async def test_personalize_metadata_refuses_more_than_50_results_before_any_call(
    open_gateway: OpenGateway, personalize: LocalPersonalize, query: str
) -> None:
    async with open_gateway(**PERSONALIZE) as gateway:
        result = await gateway.query(query)

    codes = [error["extensions"]["code"] for error in result["errors"]]
    assert codes == ["BAD_USER_INPUT"], result["errors"]
    assert "at most 50" in result["errors"][0]["message"], result["errors"]
    calls = personalize.stats.calls("GetRecommendations") + personalize.stats.calls(
        "GetPersonalizedRanking"
    )
    assert calls == 0, calls


async def test_personalize_metadata_allows_50_results(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    query = '{ recommendations(userId: "u-01", numResults: 50) { items { item { id } } } }'
    async with open_gateway(**PERSONALIZE) as gateway:
        result = await gateway.query(query)

    assert "errors" not in result, result
    assert len(result["data"]["recommendations"]["items"]) == 50, result["data"]
