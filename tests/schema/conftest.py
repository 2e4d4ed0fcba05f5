from __future__ import annotations

import pytest

from schema import Context
from tests.schema.fakes import (
    FILTERS,
    ITEM_IDS,
    MISSING_ITEM_ID,
    FakeCatalog,
    FakeRecommender,
    catalog_item,
)


@pytest.fixture
def recommender() -> FakeRecommender:
    return FakeRecommender(item_ids=ITEM_IDS)


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog(
        {item_id: catalog_item(item_id) for item_id in ITEM_IDS if item_id != MISSING_ITEM_ID}
    )


@pytest.fixture
def context(recommender: FakeRecommender, catalog: FakeCatalog) -> Context:
    return Context(recommender=recommender, catalog=catalog, filters=FILTERS)
