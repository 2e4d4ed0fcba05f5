"""The upstream budget through the app: documents over it cost Personalize nothing."""

from __future__ import annotations

from emulator import LocalPersonalize
from tests.gateway.conftest import Gateway

ENTITIES = """query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on User { recommendations(numResults: 500) { items { itemId } } }
  }
}"""


def users(count: int) -> list[dict[str, str]]:
    return [{"__typename": "User", "id": f"u-{index % 30 + 1:02d}"} for index in range(count)]


def recommendation_calls(personalize: LocalPersonalize) -> int:
    return personalize.stats.calls("GetRecommendations")


async def test_budget_refuses_2000_user_representations_before_any_call(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    result = await gateway.query(ENTITIES, {"representations": users(2000)})

    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", result
    assert recommendation_calls(personalize) == 0, personalize.stats.snapshot()


async def test_budget_refuses_16_user_representations_before_any_call(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    result = await gateway.query(ENTITIES, {"representations": users(16)})

    assert "16 Personalize calls; the limit is 15" in result["errors"][0]["message"], result
    assert recommendation_calls(personalize) == 0, personalize.stats.snapshot()


async def test_budget_answers_15_user_representations(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    result = await gateway.query(ENTITIES, {"representations": users(15)})

    assert "errors" not in result, result
    assert recommendation_calls(personalize) == 15, personalize.stats.snapshot()


async def test_budget_counts_root_fields_and_entities_together(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    query = ENTITIES.replace(
        "_entities(", 'a: relatedItems(itemId: "i-001") { items { itemId } } _entities('
    )

    result = await gateway.query(query, {"representations": users(15)})

    assert "16 Personalize calls" in result["errors"][0]["message"], result
    assert recommendation_calls(personalize) == 0, personalize.stats.snapshot()


async def test_budget_caps_item_representations(gateway: Gateway) -> None:
    query = "query ($r: [_Any!]!) { _entities(representations: $r) { ... on Item { id } } }"
    items = [{"__typename": "Item", "id": "i-001"}] * 501

    result = await gateway.query(query, {"r": items})

    assert "at most 500 representations, got 501" in result["errors"][0]["message"], result
