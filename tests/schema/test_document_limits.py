"""Depth, aliases, tokens and introspection: each limit at its edge, and just over it."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query

from schema import Context, build_schema
from tests.schema.fakes import FakeRecommender

DEPTH_3 = '{ relatedItems(itemId: "i1") { items { itemId } } }'
DEPTH_4 = '{ relatedItems(itemId: "i1") { items { item { id } } } }'
DEPTH_4_BY_FRAGMENT = """
{ relatedItems(itemId: "i1") { items { ...Details } } }
fragment Details on RecommendedItem { item { id } }
"""
ELEVEN_TOKENS = '{ item(id: "i1") { id } }'  # { item ( id : "i1" ) { id } }


def errors_of(result: Any) -> list[tuple[str, str]]:
    return [(error.extensions["code"], error.message) for error in result.errors or ()]


async def test_depth_at_the_limit_is_answered(context: Context) -> None:
    result = await build_schema(max_depth=3).execute(DEPTH_3, context_value=context)

    assert errors_of(result) == []


async def test_depth_over_the_limit_is_refused_before_any_call(
    context: Context, recommender: FakeRecommender
) -> None:
    result = await build_schema(max_depth=3).execute(DEPTH_4, context_value=context)

    assert (errors_of(result), recommender.calls) == (
        [
            (
                "GRAPHQL_VALIDATION_FAILED",
                "The operation nests fields 4 levels deep; the limit is 3.",
            )
        ],
        [],
    )


async def test_depth_counts_fragments_where_they_are_spread(context: Context) -> None:
    result = await build_schema(max_depth=3).execute(DEPTH_4_BY_FRAGMENT, context_value=context)

    assert [code for code, _ in errors_of(result)] == ["GRAPHQL_VALIDATION_FAILED"]


def nested_of_type(levels: int) -> str:
    """`{ __type(name: "Item") { ofType { … { name } } } }`: `levels` + 2 deep."""
    return '{ __type(name: "Item") { ' + "ofType { " * levels + "name" + " }" * levels + " } }"


async def test_depth_lets_the_standard_introspection_query_through(context: Context) -> None:
    query = get_introspection_query(
        descriptions=True, input_value_deprecation=True, specified_by_url=True
    )

    result = await build_schema(max_depth=3).execute(query, context_value=context)

    assert errors_of(result) == []


async def test_depth_counts_introspection_fields_at_its_own_limit(context: Context) -> None:
    result = await build_schema(max_depth=3).execute(nested_of_type(14), context_value=context)

    assert errors_of(result) == [
        (
            "GRAPHQL_VALIDATION_FAILED",
            "The operation nests introspection fields 16 levels deep; the limit is 15.",
        )
    ]


async def test_depth_of_introspection_just_at_its_limit_is_answered(context: Context) -> None:
    result = await build_schema(max_depth=3).execute(nested_of_type(13), context_value=context)

    assert errors_of(result) == []


async def test_depth_counts_nothing_for_typename(context: Context) -> None:
    query = '{ relatedItems(itemId: "i1") { items { itemId __typename } } }'

    result = await build_schema(max_depth=3).execute(query, context_value=context)

    assert errors_of(result) == []


async def test_depth_with_an_unknown_fragment_is_a_coded_validation_error(
    context: Context,
) -> None:
    result = await build_schema(max_depth=3).execute("{ ...Missing }", context_value=context)

    assert errors_of(result) == [("GRAPHQL_VALIDATION_FAILED", "Unknown fragment 'Missing'.")]


async def test_depth_with_a_fragment_cycle_is_a_coded_validation_error(
    context: Context,
) -> None:
    query = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"

    result = await build_schema(max_depth=3).execute(query, context_value=context)

    assert {code for code, _ in errors_of(result)} == {"GRAPHQL_VALIDATION_FAILED"}


def aliases(count: int) -> str:
    return "{ " + " ".join(f'a{n}: item(id: "i{n}") {{ id }}' for n in range(count)) + " }"


async def test_aliases_at_the_limit_are_answered(context: Context) -> None:
    result = await build_schema(max_aliases=3).execute(aliases(3), context_value=context)

    assert errors_of(result) == []


async def test_aliases_over_the_limit_are_refused(context: Context) -> None:
    result = await build_schema(max_aliases=3).execute(aliases(4), context_value=context)

    assert [code for code, _ in errors_of(result)] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_tokens_at_the_limit_are_answered(context: Context) -> None:
    result = await build_schema(max_tokens=11).execute(ELEVEN_TOKENS, context_value=context)

    assert errors_of(result) == []


async def test_tokens_over_the_limit_are_refused(context: Context) -> None:
    result = await build_schema(max_tokens=10).execute(ELEVEN_TOKENS, context_value=context)

    assert errors_of(result) == [
        (
            "GRAPHQL_PARSE_FAILED",
            "Syntax Error: Document contains more than 10 tokens. Parsing aborted.",
        )
    ]


@pytest.mark.parametrize(
    "query", ["{ __schema { queryType { name } } }", '{ __type(name: "Item") { name } }']
)
async def test_introspection_off_refuses_schema_and_type(context: Context, query: str) -> None:
    result = await build_schema(introspection=False).execute(query, context_value=context)

    assert (result.data, {code for code, _ in errors_of(result)}) == (
        None,
        {"GRAPHQL_VALIDATION_FAILED"},
    )


async def test_introspection_off_keeps_the_federation_sdl(context: Context) -> None:
    result = await build_schema(introspection=False).execute(
        "{ __typename _service { sdl } }", context_value=context
    )

    sdl = (result.data or {}).get("_service", {}).get("sdl", "")
    assert (errors_of(result), "type Item" in sdl) == ([], True)


async def test_suggestions_are_hidden_when_asked(context: Context) -> None:
    query = '{ recomendations(userId: "u1") { source } }'

    result = await build_schema(hide_suggestions=True).execute(query, context_value=context)

    assert errors_of(result) == [
        ("GRAPHQL_VALIDATION_FAILED", "Cannot query field 'recomendations' on type 'Query'.")
    ]


async def test_suggestions_are_shown_by_default(context: Context) -> None:
    query = '{ recomendations(userId: "u1") { source } }'

    result = await build_schema().execute(query, context_value=context)

    assert errors_of(result) == [
        (
            "GRAPHQL_VALIDATION_FAILED",
            "Cannot query field 'recomendations' on type 'Query'. Did you mean 'recommendations'?",
        )
    ]


async def test_error_details_are_shown_when_asked(
    context: Context, recommender: FakeRecommender
) -> None:
    recommender.failure = RuntimeError("the cache is closed")

    result = await build_schema(show_error_details=True).execute(
        '{ recommendations(userId: "u1") { source } }', context_value=context
    )

    assert errors_of(result) == [
        ("INTERNAL_SERVER_ERROR", "Internal server error. RuntimeError: the cache is closed")
    ]
