"""Item ids that are not Unicode text, sent as JSON's `\\ud800` escape: refused per field, and
the rest of the query's catalog batch still loaded."""

from __future__ import annotations

import json
from typing import Any

from tests.gateway.conftest import Gateway, Store


async def post_ascii(gateway: Gateway, query: str, variables: dict[str, Any]) -> Any:
    """POST with JSON escapes for every non-ASCII character, as browsers may send them."""
    body = json.dumps({"query": query, "variables": variables}, ensure_ascii=True)
    response = await gateway.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_lone_surrogate_item_id_fails_its_field_only(gateway: Gateway, store: Store) -> None:
    query = """query ($a: ID!, $bad: ID!, $b: ID!) {
      a: item(id: $a) { title } bad: item(id: $bad) { title } b: item(id: $b) { title }
    }"""
    first, second = store.item_ids[:2]

    result = await post_ascii(gateway, query, {"a": first, "bad": "i-\ud800", "b": second})

    assert result["data"]["a"] == {"title": store.titles[first]}, result
    assert result["data"]["b"] == {"title": store.titles[second]}, result
    assert result["data"]["bad"] is None, result
    assert [error["path"] for error in result["errors"]] == [["bad"]], result
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", result


async def test_lone_surrogate_entity_reference_fails_its_entity_only(
    gateway: Gateway, store: Store
) -> None:
    query = """query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on Item { title } }
    }"""
    first = store.item_ids[0]
    representations = [
        {"__typename": "Item", "id": "\udfff"},
        {"__typename": "Item", "id": first},
    ]

    result = await post_ascii(gateway, query, {"representations": representations})

    assert result["data"]["_entities"][1] == {"title": store.titles[first]}, result
    assert [error["path"] for error in result["errors"]] == [["_entities", 0]], result
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", result
