"""Root fields fetch catalog items only when the executed selection reaches `item`."""

from __future__ import annotations

import pytest

from schema import Context, schema
from tests.schema.fakes import FakeCatalog

FRAGMENTS = """
query($skip: Boolean!, $include: Boolean!) {
  recommendations(userId: "u1", numResults: 2) { ...Listed }
}
fragment Listed on RecommendationList {
  items { ... on RecommendedItem { item @skip(if: $skip) @include(if: $include) { id } } }
}
"""


@pytest.mark.parametrize(
    ("skip", "include", "batches"),
    [(False, True, 1), (True, True, 0), (False, False, 0), (True, False, 0)],
)
async def test_item_through_fragments_is_fetched_only_when_included(
    context: Context, catalog: FakeCatalog, skip: bool, include: bool, batches: int
) -> None:
    result = await schema.execute(
        FRAGMENTS, variable_values={"skip": skip, "include": include}, context_value=context
    )

    assert result.errors is None, result.errors
    assert len(catalog.calls) == batches, catalog.calls


async def test_item_through_fragments_is_filled_in(context: Context) -> None:
    result = await schema.execute(
        FRAGMENTS, variable_values={"skip": False, "include": True}, context_value=context
    )

    assert result.data is not None, result.errors
    items = result.data["recommendations"]["items"]
    assert [entry["item"] for entry in items] == [{"id": "i1"}, {"id": "i2"}], items


async def test_list_without_item_costs_no_catalog_call(
    context: Context, catalog: FakeCatalog
) -> None:
    await schema.execute(
        '{ recommendations(userId: "u1", numResults: 3) { items { itemId score } } }',
        context_value=context,
    )

    assert catalog.calls == [], catalog.calls
