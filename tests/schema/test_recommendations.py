from __future__ import annotations

from typing import Any

import pytest

from schema import (
    Context,
    FilterRequest,
    PromotionRequest,
    Recommendation,
    Recommendations,
    RecommendationSource,
    schema,
)
from tests.schema.fakes import FILTERS, FakeRecommender

RECOMMENDATIONS = """
query Recommend($userId: ID!, $numResults: Int! = 25, $filter: FilterInput,
                $context: [ContextEntry!], $promotion: PromotionInput) {
  recommendations(userId: $userId, numResults: $numResults, filter: $filter,
                  context: $context, promotion: $promotion) {
    items { itemId }
  }
}
"""
RELATED_ITEMS = """
query Related($itemId: ID!, $userId: ID, $numResults: Int! = 25, $filter: FilterInput) {
  relatedItems(itemId: $itemId, userId: $userId, numResults: $numResults, filter: $filter) {
    items { itemId }
  }
}
"""
RANKING = """
query Rank($userId: ID!, $items: [ID!]!, $filter: FilterInput, $context: [ContextEntry!]) {
  ranking(userId: $userId, items: $items, filter: $filter, context: $context) {
    items { itemId }
  }
}
"""


async def test_recommendations_returns_items_with_their_details(context: Context) -> None:
    query = """{
      recommendations(userId: "u1", numResults: 2) {
        recommendationId source
        items { itemId score promotionName reasons item { id title imageUrl } }
      }
    }"""

    result = await schema.execute(query, context_value=context)

    assert result.errors is None
    assert result.data == {
        "recommendations": {
            "recommendationId": "rid-1",
            "source": "PERSONALIZE",
            "items": [
                {
                    "itemId": "i1",
                    "score": 1.0,
                    "promotionName": None,
                    "reasons": [],
                    "item": {"id": "i1", "title": "Item i1", "imageUrl": "/images/items/i1.svg"},
                },
                {
                    "itemId": "i2",
                    "score": 0.5,
                    "promotionName": None,
                    "reasons": [],
                    "item": {"id": "i2", "title": "Item i2", "imageUrl": "/images/items/i2.svg"},
                },
            ],
        }
    }


async def test_recommendations_passes_arguments_formatted_for_personalize(
    context: Context, recommender: FakeRecommender
) -> None:
    variables = {
        "userId": "u1",
        "numResults": 3,
        "filter": {
            "name": "category",
            "values": [{"key": "CATEGORY", "values": ["shoes", "boots"]}],
        },
        "context": [{"key": "DEVICE", "value": "mobile"}],
        "promotion": {
            "name": "cheap-things",
            "percentPromotedItems": 10,
            "filter": {"name": "max-price", "values": [{"key": "MAX_PRICE", "values": ["20"]}]},
        },
    }

    await schema.execute(RECOMMENDATIONS, variable_values=variables, context_value=context)

    assert recommender.calls == [
        (
            "recommend",
            {
                "user_id": "u1",
                "num_results": 3,
                "filter": FilterRequest(FILTERS["category"], {"CATEGORY": '"shoes","boots"'}),
                "personalize_context": {"DEVICE": "mobile"},
                "promotion": PromotionRequest(
                    "cheap-things", 10, FilterRequest(FILTERS["max-price"], {"MAX_PRICE": "20"})
                ),
            },
        )
    ]


async def test_recommendations_without_options_sends_defaults(
    context: Context, recommender: FakeRecommender
) -> None:
    await schema.execute(RECOMMENDATIONS, variable_values={"userId": "u1"}, context_value=context)

    assert recommender.calls == [
        (
            "recommend",
            {
                "user_id": "u1",
                "num_results": 25,
                "filter": None,
                "personalize_context": {},
                "promotion": None,
            },
        )
    ]


async def test_recommendations_promotion_defaults_to_twenty_percent(
    context: Context, recommender: FakeRecommender
) -> None:
    query = '{ recommendations(userId: "u1", promotion: {name: "p"}) { items { promotionName } } }'

    await schema.execute(query, context_value=context)

    assert recommender.calls[0][1]["promotion"] == PromotionRequest("p", 20, None)


async def test_recommendations_reports_what_the_recommender_says(
    context: Context, recommender: FakeRecommender
) -> None:
    recommender.answer = Recommendations(
        recommendation_id=None,
        items=(Recommendation("i2", None, "summer", ("popular", "similar to i1")),),
        source=RecommendationSource.FALLBACK,
    )
    query = """{ recommendations(userId: "u1") {
      recommendationId source items { itemId score promotionName reasons }
    } }"""

    result = await schema.execute(query, context_value=context)

    assert result.data == {
        "recommendations": {
            "recommendationId": None,
            "source": "FALLBACK",
            "items": [
                {
                    "itemId": "i2",
                    "score": None,
                    "promotionName": "summer",
                    "reasons": ["popular", "similar to i1"],
                }
            ],
        }
    }


async def test_related_items_returns_other_items(
    context: Context, recommender: FakeRecommender
) -> None:
    query = """{ relatedItems(itemId: "i1", userId: "u1", numResults: 2) {
      items { itemId score item { id } }
    } }"""

    result = await schema.execute(query, context_value=context)

    assert result.errors is None
    assert result.data == {
        "relatedItems": {
            "items": [
                {"itemId": "i2", "score": 1.0, "item": {"id": "i2"}},
                {"itemId": "i3", "score": 0.5, "item": {"id": "i3"}},
            ]
        }
    }
    assert recommender.calls == [
        ("related_items", {"item_id": "i1", "user_id": "u1", "num_results": 2, "filter": None})
    ]


async def test_ranking_puts_unknown_items_last_without_score(
    context: Context, recommender: FakeRecommender
) -> None:
    query = """{ ranking(userId: "u1", items: ["new-1", "i3", "i2"],
                         context: [{key: "DEVICE", value: "tv"}]) {
      items { itemId score item { id } }
    } }"""

    result = await schema.execute(query, context_value=context)

    assert result.errors is None
    assert result.data == {
        "ranking": {
            "items": [
                {"itemId": "i2", "score": 1.0, "item": {"id": "i2"}},
                {"itemId": "i3", "score": 0.5, "item": {"id": "i3"}},
                {"itemId": "new-1", "score": None, "item": None},
            ]
        }
    }
    assert recommender.calls == [
        (
            "rank",
            {
                "user_id": "u1",
                "item_ids": ["new-1", "i3", "i2"],
                "filter": None,
                "personalize_context": {"DEVICE": "tv"},
            },
        )
    ]


async def test_recommended_item_missing_from_catalog_is_null_without_error(
    context: Context,
) -> None:
    query = '{ ranking(userId: "u1", items: ["i12", "i13"]) { items { itemId item { id } } } }'

    result = await schema.execute(query, context_value=context)

    assert result.errors is None
    assert result.data == {
        "ranking": {
            "items": [
                {"itemId": "i12", "item": {"id": "i12"}},
                {"itemId": "i13", "item": None},
            ]
        }
    }


def _filter_values(count: int) -> dict[str, Any]:
    return {"name": "category", "values": [{"key": f"K{n}", "values": ["x"]} for n in range(count)]}


def _context(count: int) -> list[dict[str, str]]:
    return [{"key": f"K{n}", "value": "x"} for n in range(count)]


def _one_value(key: str = "K", value: str = "x") -> dict[str, Any]:
    return {"name": "category", "values": [{"key": key, "values": [value]}]}


def _promotion(**fields: Any) -> dict[str, Any]:
    return {"name": "promo", **fields}


OVER_THE_LIMIT = [
    pytest.param(RECOMMENDATIONS, {"userId": ""}, "userId must be 1 to 256", id="empty-user-id"),
    pytest.param(
        RECOMMENDATIONS, {"userId": "u" * 257}, "userId must be 1 to 256", id="long-user-id"
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "numResults": 0},
        "numResults must be between 1 and 500",
        id="zero-results",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "numResults": 501},
        "numResults must be between 1 and 500",
        id="too-many-results",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "filter": _filter_values(26)},
        "at most 25 values",
        id="too-many-filter-values",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "filter": _one_value(key="K" * 51)},
        "must match [A-Za-z0-9_]{1,50}",
        id="long-filter-key",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "filter": _one_value(key="MAX-PRICE")},
        "must match [A-Za-z0-9_]{1,50}",
        id="filter-key-with-dash",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "filter": _one_value(value="x" * 999)},
        "the limit is 1000",
        id="long-filter-value",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "context": _context(151)},
        "at most 150 entries",
        id="too-many-context-entries",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "context": [{"key": "K" * 151, "value": "x"}]},
        "must match [A-Za-z0-9_]{1,150}",
        id="long-context-key",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "context": [{"key": "DEVICE TYPE", "value": "x"}]},
        "must match [A-Za-z0-9_]{1,150}",
        id="context-key-with-space",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "context": [{"key": "K", "value": "x" * 1001}]},
        "the limit is 1000",
        id="long-context-value",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(name="p" * 64)},
        r"must match [a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}",
        id="long-promotion-name",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(name="-promo")},
        r"must match [a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}",
        id="promotion-name-starting-with-dash",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(percentPromotedItems=0)},
        "percentPromotedItems must be between 1 and 100",
        id="no-promoted-items",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(percentPromotedItems=101)},
        "percentPromotedItems must be between 1 and 100",
        id="too-many-promoted-items",
    ),
    pytest.param(
        RELATED_ITEMS, {"itemId": "i" * 257}, "itemId must be 1 to 256", id="long-item-id"
    ),
    pytest.param(
        RELATED_ITEMS,
        {"itemId": "i1", "userId": "u" * 257},
        "userId must be 1 to 256",
        id="long-related-user-id",
    ),
    pytest.param(
        RELATED_ITEMS,
        {"itemId": "i1", "numResults": 501},
        "numResults must be between 1 and 500",
        id="too-many-related-results",
    ),
    pytest.param(
        RANKING, {"userId": "u", "items": []}, "items must hold 1 to 500 ids", id="nothing-to-rank"
    ),
    pytest.param(
        RANKING,
        {"userId": "u", "items": [f"i{n}" for n in range(501)]},
        "items must hold 1 to 500 ids",
        id="too-many-to-rank",
    ),
    pytest.param(
        RANKING,
        {"userId": "u", "items": ["i1", "i" * 257]},
        "items[1] must be 1 to 256",
        id="long-ranked-item-id",
    ),
    pytest.param(
        RANKING,
        {"userId": "u" * 257, "items": ["i1"]},
        "userId must be 1 to 256",
        id="long-ranking-user-id",
    ),
    pytest.param(
        RANKING,
        {"userId": "u", "items": ["i1"], "context": _context(151)},
        "at most 150 entries",
        id="too-many-ranking-context-entries",
    ),
]

AT_THE_LIMIT = [
    pytest.param(RECOMMENDATIONS, {"userId": "u"}, id="short-user-id"),
    pytest.param(RECOMMENDATIONS, {"userId": "u" * 256}, id="long-user-id"),
    pytest.param(RECOMMENDATIONS, {"userId": "u", "numResults": 1}, id="one-result"),
    pytest.param(RECOMMENDATIONS, {"userId": "u", "numResults": 500}, id="most-results"),
    pytest.param(
        RECOMMENDATIONS, {"userId": "u", "filter": _filter_values(25)}, id="most-filter-values"
    ),
    pytest.param(
        RECOMMENDATIONS, {"userId": "u", "filter": _one_value(key="K" * 50)}, id="long-filter-key"
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "filter": _one_value(value="x" * 998)},
        id="long-filter-value",
    ),
    pytest.param(
        RECOMMENDATIONS, {"userId": "u", "context": _context(150)}, id="most-context-entries"
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "context": [{"key": "K" * 150, "value": "x" * 1000}]},
        id="long-context-entry",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(name="p" * 63)},
        id="long-promotion-name",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(percentPromotedItems=1)},
        id="fewest-promoted-items",
    ),
    pytest.param(
        RECOMMENDATIONS,
        {"userId": "u", "promotion": _promotion(percentPromotedItems=100)},
        id="most-promoted-items",
    ),
    pytest.param(RELATED_ITEMS, {"itemId": "i" * 256, "userId": "u" * 256}, id="long-ids"),
    pytest.param(RANKING, {"userId": "u", "items": ["i1"]}, id="one-to-rank"),
    pytest.param(
        RANKING,
        {"userId": "u", "items": [f"i{n}" * 50 for n in range(500)]},
        id="most-to-rank",
    ),
]


@pytest.mark.parametrize(("query", "variables", "limit"), OVER_THE_LIMIT)
async def test_argument_over_its_limit_is_refused_before_calling_personalize(
    context: Context,
    recommender: FakeRecommender,
    query: str,
    variables: dict[str, Any],
    limit: str,
) -> None:
    result = await schema.execute(query, variable_values=variables, context_value=context)

    assert result.errors is not None
    assert [(limit in error.message, error.extensions) for error in result.errors] == [
        (True, {"code": "BAD_USER_INPUT"})
    ]
    assert recommender.calls == []


@pytest.mark.parametrize(("query", "variables"), AT_THE_LIMIT)
async def test_argument_at_its_limit_is_accepted(
    context: Context, recommender: FakeRecommender, query: str, variables: dict[str, Any]
) -> None:
    result = await schema.execute(query, variable_values=variables, context_value=context)

    assert result.errors is None
    assert len(recommender.calls) == 1


async def test_unknown_filter_is_refused_naming_the_known_ones(
    context: Context, recommender: FakeRecommender
) -> None:
    variables = {"userId": "u1", "filter": {"name": "cheap"}}

    result = await schema.execute(RECOMMENDATIONS, variable_values=variables, context_value=context)

    assert result.errors is not None
    assert [(error.message, error.extensions) for error in result.errors] == [
        (
            "Unknown filter 'cheap'; known filters: category, exclude-purchased, max-price.",
            {"code": "BAD_USER_INPUT"},
        )
    ]
    assert recommender.calls == []


async def test_unknown_promotion_filter_is_refused(
    context: Context, recommender: FakeRecommender
) -> None:
    variables = {"userId": "u1", "promotion": {"name": "p", "filter": {"name": "cheap"}}}

    result = await schema.execute(RECOMMENDATIONS, variable_values=variables, context_value=context)

    assert result.errors is not None
    assert result.errors[0].message.startswith("Unknown filter 'cheap'")
    assert recommender.calls == []


async def test_recommendations_derived_personalize_context_yields_to_the_query_key_by_key(
    context: Context, recommender: FakeRecommender
) -> None:
    context.derived_personalize_context = {"recommendations": {"DEVICE": "desktop", "HOUR": "9"}}
    variables = {"userId": "u1", "context": [{"key": "DEVICE", "value": "kiosk"}]}

    await schema.execute(RECOMMENDATIONS, variable_values=variables, context_value=context)

    assert recommender.calls[0][1]["personalize_context"] == {"HOUR": "9", "DEVICE": "kiosk"}


async def test_ranking_gets_only_its_own_derived_personalize_context(
    context: Context, recommender: FakeRecommender
) -> None:
    context.derived_personalize_context = {
        "recommendations": {"DEVICE": "desktop"},
        "ranking": {"DAY": "monday"},
    }

    await schema.execute(
        RANKING, variable_values={"userId": "u1", "items": ["i1"]}, context_value=context
    )

    assert recommender.calls[0][1]["personalize_context"] == {"DAY": "monday"}


async def test_derived_personalize_context_gives_way_at_the_context_limit(
    context: Context, recommender: FakeRecommender
) -> None:
    context.derived_personalize_context = {"recommendations": {"DEVICE": "desktop", "HOUR": "9"}}
    explicit = [{"key": f"K{n}", "value": "v"} for n in range(149)]

    await schema.execute(
        RECOMMENDATIONS,
        variable_values={"userId": "u1", "context": explicit},
        context_value=context,
    )

    assert sorted(recommender.calls[0][1]["personalize_context"]) == sorted(
        ["DEVICE", *(f"K{n}" for n in range(149))]
    )
