"""Queries through Apollo Gateway, planned across our subgraph and another team's."""

from __future__ import annotations

from emulator import LocalPersonalize
from tests.federation.conftest import MISSING_ITEM_ID, USER_NAMES, Supergraph
from tests.gateway.conftest import Store

USER_RECOMMENDATIONS = """
query UserRecommendations($id: ID!) {
  user(id: $id) {
    name
    recommendations(numResults: 5) { items { itemId item { title inStock } } }
  }
}"""
FEATURED_ITEMS = "query Featured { featuredItems { id title price inStock } }"


def test_supergraph_adds_our_recommendations_to_their_user(
    supergraph: Supergraph, store: Store, local_personalize: LocalPersonalize
) -> None:
    round_trips = supergraph.subgraph.catalog.round_trips
    local_personalize.stats.reset()

    result = supergraph.query(USER_RECOMMENDATIONS, {"id": "u-02"})

    user = result["data"]["user"]
    items = user["recommendations"]["items"]
    assert "errors" not in result, result
    assert (user["name"], len(items)) == (USER_NAMES["u-02"], 5)
    assert [entry["item"] for entry in items] == [
        {"title": store.titles[entry["itemId"]], "inStock": entry["itemId"] in supergraph.in_stock}
        for entry in items
    ]
    assert (
        supergraph.subgraph.catalog.round_trips - round_trips,
        local_personalize.stats.calls("GetRecommendations"),
    ) == (1, 1)


def test_supergraph_resolves_their_items_from_our_catalog_in_one_call(
    supergraph: Supergraph, store: Store
) -> None:
    round_trips = supergraph.subgraph.catalog.round_trips

    result = supergraph.query(FEATURED_ITEMS)

    assert "errors" not in result, result
    assert result["data"]["featuredItems"] == [
        {
            "id": item_id,
            "title": store.titles.get(item_id),
            "price": None if item_id == MISSING_ITEM_ID else 10 + int(item_id[2:]) * 1.5,
            "inStock": item_id in supergraph.in_stock,
        }
        for item_id in supergraph.featured_items
    ]
    assert supergraph.subgraph.catalog.round_trips - round_trips == 1


def test_supergraph_passes_our_argument_errors_on(supergraph: Supergraph) -> None:
    query = '{ user(id: "u-01") { recommendations(numResults: 0) { items { itemId } } } }'

    result = supergraph.query(query)

    assert [(error["message"], error["extensions"]["code"]) for error in result["errors"]] == [
        ("numResults must be between 1 and 500, got 0.", "BAD_USER_INPUT")
    ]
