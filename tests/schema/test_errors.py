from __future__ import annotations

import json
import logging

import pytest

from schema import (
    ApiError,
    BadUserInput,
    Context,
    Forbidden,
    Unauthenticated,
    build_schema,
    schema,
)
from schema.ports import (
    CatalogUnavailable,
    InvalidInput,
    PortError,
    ResourceNotFound,
    Throttled,
    Unavailable,
)
from tests.schema.fakes import FakeCatalog, FakeRecommender

QUERY = '{ recommendations(userId: "u1") { items { itemId item { id } } } }'


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidInput("Filter category has no placeholder $COLOR."), "BAD_USER_INPUT"),
        (ResourceNotFound("Campaign user-personalization does not exist."), "NOT_FOUND"),
        (Throttled("Personalize is throttling requests."), "UPSTREAM_THROTTLED"),
        (Unavailable("Personalize did not answer in 2 s."), "UPSTREAM_UNAVAILABLE"),
        (BadUserInput("numResults is 0."), "BAD_USER_INPUT"),
        (Unauthenticated("Sign in first."), "UNAUTHENTICATED"),
        (Forbidden("Not for you."), "FORBIDDEN"),
    ],
)
async def test_recommender_error_reaches_the_client_with_its_code(
    context: Context, recommender: FakeRecommender, error: PortError | ApiError, code: str
) -> None:
    recommender.failure = error

    result = await schema.execute(QUERY, context_value=context)

    assert result.errors is not None
    assert [error.formatted for error in result.errors] == [
        {
            "message": error.message,
            "locations": [{"line": 1, "column": 3}],
            "path": ["recommendations"],
            "extensions": {"code": code},
        }
    ]


async def test_unexpected_error_is_masked_for_the_client(
    context: Context, recommender: FakeRecommender
) -> None:
    recommender.failure = RuntimeError("secret")

    result = await schema.execute(QUERY, context_value=context)

    assert result.errors is not None
    assert [error.formatted for error in result.errors] == [
        {
            "message": "Internal server error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["recommendations"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert "secret" not in json.dumps([error.formatted for error in result.errors])


async def test_unexpected_error_is_logged_with_its_traceback(
    context: Context, recommender: FakeRecommender, caplog: pytest.LogCaptureFixture
) -> None:
    recommender.failure = RuntimeError("secret")

    with caplog.at_level(logging.ERROR, logger="schema"):
        await schema.execute(QUERY, context_value=context)

    assert [(record.name, record.exc_info and record.exc_info[1]) for record in caplog.records] == [
        ("schema.errors", recommender.failure)
    ]


async def test_expected_error_is_not_logged(
    context: Context, recommender: FakeRecommender, caplog: pytest.LogCaptureFixture
) -> None:
    recommender.failure = Throttled("Personalize is throttling requests.")

    with caplog.at_level(logging.DEBUG):
        await schema.execute(QUERY, context_value=context)

    assert caplog.records == []


async def test_catalog_failure_leaves_the_recommendations_with_one_error(
    context: Context, catalog: FakeCatalog
) -> None:
    catalog.failure = CatalogUnavailable("The catalog did not answer within 1 s.")
    query = '{ recommendations(userId: "u1", numResults: 2) { items { itemId item { id } } } }'

    result = await schema.execute(query, context_value=context)

    assert result.data == {
        "recommendations": {
            "items": [{"itemId": "i1", "item": None}, {"itemId": "i2", "item": None}]
        }
    }, result.data
    assert result.errors is not None
    assert [(error.message, error.extensions) for error in result.errors] == [
        (
            "The catalog did not answer within 1 s.",
            {
                "code": "CATALOG_UNAVAILABLE",
                "paths": [
                    ["recommendations", "items", 0, "item"],
                    ["recommendations", "items", 1, "item"],
                ],
            },
        )
    ], result.errors


async def test_catalog_bug_is_reported_as_unavailable_without_its_detail(
    context: Context, catalog: FakeCatalog
) -> None:
    catalog.failure = ConnectionError("sqlite file /srv/catalog.db is locked")
    query = '{ recommendations(userId: "u1", numResults: 1) { items { item { id } } } }'

    result = await schema.execute(query, context_value=context)

    assert result.errors is not None
    assert [(error.message, error.extensions) for error in result.errors] == [
        (
            "The catalog failed to answer.",
            {"code": "CATALOG_UNAVAILABLE", "paths": [["recommendations", "items", 0, "item"]]},
        )
    ], result.errors


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ recommendations(userId: ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ recommendations(userId: 1) { nothing } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ recommendations { items { itemId } } }", None, "GRAPHQL_VALIDATION_FAILED"),
        (
            "query($n: Int!) { recommendations(userId: 1, numResults: $n) { items { itemId } } }",
            {"n": "many"},
            "BAD_USER_INPUT",
        ),
        (
            "query($n: Int!) { recommendations(userId: 1, numResults: $n) { items { itemId } } }",
            {},
            "BAD_USER_INPUT",
        ),
    ],
)
async def test_graphql_error_gets_a_code(
    context: Context, query: str, variables: dict[str, object] | None, code: str
) -> None:
    result = await schema.execute(query, variable_values=variables, context_value=context)

    assert result.errors is not None
    assert {error.extensions["code"] for error in result.errors if error.extensions} == {code}


async def test_too_many_aliases_are_refused_before_calling_personalize(
    context: Context, recommender: FakeRecommender
) -> None:
    fields = " ".join(
        f'r{n}: recommendations(userId: "u{n}") {{ items {{ itemId }} }}' for n in range(3)
    )

    result = await build_schema(max_aliases=2).execute(f"{{ {fields} }}", context_value=context)

    assert result.errors is not None
    assert [error.extensions for error in result.errors] == [{"code": "GRAPHQL_VALIDATION_FAILED"}]
    assert recommender.calls == []


async def test_scalar_refusing_a_variable_is_bad_user_input(context: Context) -> None:
    result = await schema.execute(
        "mutation($input: RecordEventsInput!) { recordEvents(input: $input) { accepted } }",
        variable_values={
            "input": {"sessionId": "s", "events": [{"eventType": "view", "sentAt": 5}]}
        },
        context_value=context,
    )

    assert [(error.message, error.extensions) for error in result.errors or ()] == [
        (
            "Variable '$input' has invalid value at .events[0].sentAt: Value cannot represent "
            'a DateTime: "5". Expected a string.',
            {"code": "BAD_USER_INPUT"},
        )
    ]
