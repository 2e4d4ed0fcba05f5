from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema import (
    ERROR_CODES,
    Context,
    RecommendationSource,
    UpstreamThrottled,
    recommendations,
    schema,
)
from tests.schema.fakes import FILTERS, ITEM_IDS, FakeCatalog, FakeRecommender, catalog_item

BATCHED = """query($ranked: [ID!]!) {
  forYou: recommendations(userId: "u1", numResults: 25) { items { item { id title } } }
  forThem: recommendations(userId: "u2", numResults: 10) { items { item { id } } }
  relatedItems(itemId: "i5", numResults: 20) { items { item { id price } } }
  ranking(userId: "u1", items: $ranked) { items { itemId item { id } } }
}"""
RANKED = [*(f"i{n}" for n in range(30, 41)), "i1", "i2", "new-1", "new-2"]
LOOKED_UP = [*(f"i{n}" for n in range(1, 26)), *(f"i{n}" for n in range(30, 41)), "new-1", "new-2"]


async def test_one_query_calls_the_recommender_once_per_root_field(
    context: Context, recommender: FakeRecommender
) -> None:
    await schema.execute(BATCHED, variable_values={"ranked": RANKED}, context_value=context)

    assert sorted(method for method, _ in recommender.calls) == [
        "rank",
        "recommend",
        "recommend",
        "related_items",
    ]


async def test_one_query_looks_up_every_item_in_one_catalog_call(
    context: Context, catalog: FakeCatalog
) -> None:
    result = await schema.execute(
        BATCHED, variable_values={"ranked": RANKED}, context_value=context
    )

    assert result.errors is None
    assert [sorted(ids) for ids in catalog.calls] == [sorted(LOOKED_UP)]


async def test_one_query_looks_up_items_in_one_call_when_root_fields_answer_at_different_times(
    context: Context, recommender: FakeRecommender, catalog: FakeCatalog
) -> None:
    recommender.pauses = {"recommend": 1, "related_items": 4, "rank": 9}

    result = await schema.execute(
        BATCHED, variable_values={"ranked": RANKED}, context_value=context
    )

    assert result.errors is None
    assert [sorted(ids) for ids in catalog.calls] == [sorted(LOOKED_UP)]


async def test_root_fields_are_the_contract(context: Context) -> None:
    query = '{ __type(name: "Query") { fields { name args { name } } } }'

    result = await schema.execute(query, context_value=context)

    assert result.data == {
        "__type": {
            "fields": [
                {"name": "_entities", "args": [{"name": "representations"}]},
                {"name": "_service", "args": []},
                {
                    "name": "recommendations",
                    "args": [
                        {"name": "userId"},
                        {"name": "numResults"},
                        {"name": "filter"},
                        {"name": "context"},
                        {"name": "promotion"},
                    ],
                },
                {
                    "name": "relatedItems",
                    "args": [
                        {"name": "itemId"},
                        {"name": "userId"},
                        {"name": "numResults"},
                        {"name": "filter"},
                    ],
                },
                {
                    "name": "ranking",
                    "args": [
                        {"name": "userId"},
                        {"name": "items"},
                        {"name": "filter"},
                        {"name": "context"},
                    ],
                },
                {"name": "item", "args": [{"name": "id"}]},
            ]
        }
    }


VARIABLE_NAMES = [
    "userId",
    "itemId",
    "relatedUserId",
    "numResults",
    "items",
    "filter",
    "context",
    "promotion",
]
EVERYTHING = """
query Everything($userId: ID!, $itemId: ID!, $relatedUserId: ID, $numResults: Int!,
                 $items: [ID!]!, $filter: FilterInput, $context: [ContextEntry!],
                 $promotion: PromotionInput) {
  recommendations(userId: $userId, numResults: $numResults, filter: $filter,
                  context: $context, promotion: $promotion) {
    recommendationId source items { itemId score promotionName reasons item { id attributes } }
  }
  relatedItems(itemId: $itemId, userId: $relatedUserId, numResults: $numResults,
               filter: $filter) { items { itemId item { id } } }
  ranking(userId: $userId, items: $items, filter: $filter, context: $context) {
    items { itemId item { title } }
  }
  item(id: $itemId) { id }
}
"""

int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
ids = st.one_of(st.text(min_size=1, max_size=10), st.text(max_size=300), int32)
texts = st.text(max_size=1100)
keys = st.one_of(st.from_regex(r"[A-Za-z0-9_]{1,50}", fullmatch=True), st.text(max_size=160))
filters = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"name": st.one_of(st.sampled_from(sorted(FILTERS)), st.text(max_size=20))},
        optional={
            "values": st.lists(
                st.fixed_dictionaries(
                    {"key": keys, "values": st.lists(st.text(max_size=400), max_size=4)}
                ),
                max_size=27,
            )
        },
    ),
)
variables = st.fixed_dictionaries(
    {
        "userId": ids,
        "itemId": ids,
        "relatedUserId": st.one_of(st.none(), ids),
        "numResults": st.one_of(st.integers(min_value=-5, max_value=600), int32),
        "items": st.lists(ids, max_size=12),
        "filter": filters,
        "context": st.one_of(
            st.none(), st.lists(st.fixed_dictionaries({"key": keys, "value": texts}), max_size=8)
        ),
        "promotion": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"name": st.text(max_size=70), "filter": filters},
                optional={"percentPromotedItems": st.one_of(st.integers(-5, 105), int32)},
            ),
        ),
    }
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
failures = st.sampled_from([None, UpstreamThrottled("Personalize is throttling."), KeyError("k")])


async def execute_everything(variables: dict[str, Any], failure: Exception | None) -> list[Any]:
    context = Context(
        recommender=FakeRecommender(ITEM_IDS, failure=failure),
        catalog=FakeCatalog({"i1": catalog_item("i1")}),
        filters=FILTERS,
    )
    result = await schema.execute(EVERYTHING, variable_values=variables, context_value=context)
    return [error.formatted for error in result.errors or ()]


def uncoded(errors: list[Any]) -> list[Any]:
    return [error for error in errors if error.get("extensions", {}).get("code") not in ERROR_CODES]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variables=variables, failure=failures)
async def test_any_arguments_give_only_coded_errors(
    variables: dict[str, Any], failure: Exception | None
) -> None:
    errors = await execute_everything(variables, failure)

    assert (uncoded(errors), "Traceback" in json.dumps(errors)) == ([], False)


@settings(max_examples=75, deadline=None)
@given(variables=st.dictionaries(st.sampled_from(VARIABLE_NAMES), json_values), failure=failures)
async def test_ill_typed_variables_give_only_coded_errors(
    variables: dict[str, Any], failure: Exception | None
) -> None:
    errors = await execute_everything(variables, failure)

    assert (uncoded(errors), "Traceback" in json.dumps(errors)) == ([], False)


def test_error_codes_are_the_documented_set() -> None:
    assert {
        "BAD_USER_INPUT",
        "NOT_FOUND",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "UPSTREAM_THROTTLED",
        "UPSTREAM_UNAVAILABLE",
        "CATALOG_UNAVAILABLE",
        "BAD_REQUEST",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "INTERNAL_SERVER_ERROR",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_SUPPORTED",
    } == ERROR_CODES


def test_recommendation_source_is_the_same_in_ports_and_graphql() -> None:
    assert (
        [source.value for source in RecommendationSource],
        [source.name for source in recommendations.RecommendationSource],
    ) == (["PERSONALIZE", "FALLBACK"], ["PERSONALIZE", "FALLBACK"])
