"""Which users' recommendations a caller may ask for, checked before any upstream call."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from schema import ANONYMOUS, UNRESTRICTED, Context, Identity, schema
from tests.schema.fakes import FakeRecommender

RECOMMENDATIONS = '{ recommendations(userId: "u-b") { items { itemId } } }'
RANKING = '{ ranking(userId: "u-b", items: ["i1"]) { items { itemId } } }'
RELATED_FOR_USER = '{ relatedItems(itemId: "i1", userId: "u-b") { items { itemId } } }'
RELATED = '{ relatedItems(itemId: "i1") { items { itemId } } }'
ITEM = '{ item(id: "i1") { id } }'
USER_ENTITY = """
{ _entities(representations: [{__typename: "User", id: "u-b"}]) {
    ... on User { recommendations { items { itemId } } } } }
"""


async def run(context: Context, identity: Identity, query: str) -> tuple[Any, list[str]]:
    result = await schema.execute(query, context_value=replace(context, identity=identity))
    codes = [error.extensions["code"] for error in result.errors or () if error.extensions]
    return result.data, codes


@pytest.mark.parametrize("query", [RECOMMENDATIONS, RANKING, RELATED_FOR_USER, USER_ENTITY])
async def test_identity_of_another_user_is_forbidden(
    context: Context, recommender: FakeRecommender, query: str
) -> None:
    _, codes = await run(context, Identity(user_id="u-a"), query)

    assert (codes, recommender.calls) == (["FORBIDDEN"], [])


@pytest.mark.parametrize("query", [RECOMMENDATIONS, RANKING, RELATED_FOR_USER, USER_ENTITY])
async def test_identity_of_the_same_user_is_answered(context: Context, query: str) -> None:
    _, codes = await run(context, Identity(user_id="u-b"), query)

    assert codes == []


@pytest.mark.parametrize("query", [RECOMMENDATIONS, RANKING, RELATED_FOR_USER, USER_ENTITY])
async def test_identity_with_any_user_scope_is_answered_for_another_user(
    context: Context, query: str
) -> None:
    _, codes = await run(context, Identity(user_id="u-a", any_user=True), query)

    assert codes == []


@pytest.mark.parametrize("query", [RECOMMENDATIONS, RANKING, RELATED_FOR_USER, USER_ENTITY])
async def test_identity_anonymous_asking_for_a_user_is_unauthenticated(
    context: Context, recommender: FakeRecommender, query: str
) -> None:
    _, codes = await run(context, ANONYMOUS, query)

    assert (codes, recommender.calls) == (["UNAUTHENTICATED"], [])


@pytest.mark.parametrize("query", [RELATED, ITEM])
async def test_identity_anonymous_gets_item_based_fields(context: Context, query: str) -> None:
    _, codes = await run(context, ANONYMOUS, query)

    assert codes == []


async def test_identity_forbidden_message_names_no_other_user(context: Context) -> None:
    result = await schema.execute(
        RECOMMENDATIONS, context_value=replace(context, identity=Identity(user_id="u-a"))
    )

    assert result.errors is not None
    assert result.errors[0].message == (
        "These credentials may ask recommendations only for their own user ('u-a'), "
        "not for another user."
    )


def test_identity_unrestricted_is_the_context_default(context: Context) -> None:
    assert context.identity == UNRESTRICTED
