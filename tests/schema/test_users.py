"""The User entity: recommendations for a user another subgraph owns."""

from __future__ import annotations

from typing import Any

from schema import Context, FilterRequest, schema
from tests.schema.fakes import FILTERS, FakeCatalog, FakeRecommender

USER_RECOMMENDATIONS = """
query($representations: [_Any!]!, $numResults: Int!, $filter: FilterInput) {
  _entities(representations: $representations) {
    ... on User {
      id
      recommendations(numResults: $numResults, filter: $filter) {
        recommendationId items { itemId score item { title } }
      }
    }
  }
}"""
ARGUMENTS = """query($name: String!) {
  __type(name: $name) {
    fields {
      name
      args { name description defaultValue type { kind name ofType { kind name } } }
    }
  }
}"""


def user(user_id: str) -> dict[str, Any]:
    return {"representations": [{"__typename": "User", "id": user_id}]}


async def arguments(context: Context, type_name: str) -> list[dict[str, Any]]:
    result = await schema.execute(ARGUMENTS, {"name": type_name}, context_value=context)
    assert result.data is not None
    fields = result.data["__type"]["fields"]
    args: list[dict[str, Any]] = next(f for f in fields if f["name"] == "recommendations")["args"]
    return args


async def test_user_recommendations_come_from_the_recommender_for_that_user(
    context: Context, recommender: FakeRecommender
) -> None:
    result = await schema.execute(
        USER_RECOMMENDATIONS,
        variable_values={
            **user("u7"),
            "numResults": 2,
            "filter": {"name": "category", "values": [{"key": "CATEGORY", "values": ["shoes"]}]},
        },
        context_value=context,
    )

    assert result.errors is None
    assert (result.data, recommender.calls) == (
        {
            "_entities": [
                {
                    "id": "u7",
                    "recommendations": {
                        "recommendationId": "rid-1",
                        "items": [
                            {"itemId": "i1", "score": 1.0, "item": {"title": "Item i1"}},
                            {"itemId": "i2", "score": 0.5, "item": {"title": "Item i2"}},
                        ],
                    },
                }
            ]
        },
        [
            (
                "recommend",
                {
                    "user_id": "u7",
                    "num_results": 2,
                    "filter": FilterRequest(FILTERS["category"], {"CATEGORY": '"shoes"'}),
                    "personalize_context": {},
                    "promotion": None,
                },
            )
        ],
    )


async def test_user_recommendations_take_the_arguments_of_query_recommendations(
    context: Context,
) -> None:
    query_arguments = await arguments(context, "Query")

    user_arguments = await arguments(context, "User")

    assert user_arguments == [arg for arg in query_arguments if arg["name"] != "userId"]


async def test_user_recommendations_check_the_limits_of_query_recommendations(
    context: Context, recommender: FakeRecommender
) -> None:
    result = await schema.execute(
        USER_RECOMMENDATIONS,
        variable_values={**user("u7"), "numResults": 501},
        context_value=context,
    )

    assert result.errors is not None
    assert (
        [(error.message, error.extensions) for error in result.errors],
        recommender.calls,
    ) == ([("numResults must be between 1 and 500, got 501.", {"code": "BAD_USER_INPUT"})], [])


async def test_user_with_too_long_id_is_refused(
    context: Context, recommender: FakeRecommender, catalog: FakeCatalog
) -> None:
    result = await schema.execute(
        USER_RECOMMENDATIONS,
        variable_values={**user("u" * 257), "numResults": 5},
        context_value=context,
    )

    assert result.errors is not None
    assert (
        [(error.message, error.extensions) for error in result.errors],
        recommender.calls,
        catalog.calls,
    ) == (
        [("userId must be 1 to 256 characters long, got 257.", {"code": "BAD_USER_INPUT"})],
        [],
        [],
    )
