from __future__ import annotations

import asyncio

from schema import Context
from schema.context import load_catalog_items
from tests.schema.fakes import FILTERS, FakeCatalog, FakeRecommender, catalog_item


async def test_load_catalog_items_asks_once_for_unique_ids_and_keeps_the_order() -> None:
    catalog = FakeCatalog({"i1": catalog_item("i1")})

    found = await load_catalog_items(catalog, ["i1", "missing", "i1"])

    assert (found, catalog.calls) == (
        [catalog_item("i1"), None, catalog_item("i1")],
        [["i1", "missing"]],
    )


async def test_context_items_batches_loads_of_one_tick(
    context: Context, catalog: FakeCatalog
) -> None:
    await asyncio.gather(*(context.load_item(item_id) for item_id in ["i2", "i1", "i2", "i3"]))

    assert catalog.calls == [["i2", "i1", "i3"]]


async def test_context_items_are_cached_per_context_only(catalog: FakeCatalog) -> None:
    first = Context.create(recommender=FakeRecommender(), catalog=catalog, filters=FILTERS)
    second = Context.create(recommender=FakeRecommender(), catalog=catalog, filters=FILTERS)

    await first.load_item("i1")
    await first.load_item("i1")
    await second.load_item("i1")

    assert catalog.calls == [["i1"], ["i1"]]


async def test_a_cancelled_item_lookup_leaves_the_others_of_its_batch_answered(
    context: Context, catalog: FakeCatalog
) -> None:
    first = asyncio.ensure_future(context.load_item("i1"))
    second = asyncio.ensure_future(context.load_item("i1"))
    await asyncio.sleep(0)  # both are waiting for the same batch
    first.cancel()

    found = await second

    assert found == catalog_item("i1"), found
    assert catalog.calls == [["i1"]], catalog.calls
