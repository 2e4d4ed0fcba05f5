from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.catalog.cache import CachedCatalog
from gateway.catalog.load import load_catalog
from gateway.catalog.sqlite import SqliteCatalog
from tests.gateway.catalog.test_catalog import ITEMS_CSV, write_csv


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteCatalog]:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)
    async with SqliteCatalog.open(db) as catalog:
        yield catalog


async def test_cache_answers_repeats_without_the_source(sqlite: SqliteCatalog) -> None:
    cache = CachedCatalog(sqlite, max_entries=10, ttl=60, clock=Clock())
    await cache.get_items(["i-1", "i-2", "i-9"])

    found = await cache.get_items(["i-1", "i-9", "i-2"])

    assert sorted(found) == ["i-1", "i-2"], found
    assert sqlite.round_trips == 1, sqlite.round_trips
    assert cache.snapshot()["hits"] == 3, cache.snapshot()


async def test_cache_asks_the_source_only_for_ids_it_lacks(sqlite: SqliteCatalog) -> None:
    cache = CachedCatalog(sqlite, max_entries=10, ttl=60, clock=Clock())
    await cache.get_items(["i-1"])

    found = await cache.get_items(["i-1", "i-3"])

    assert sorted(found) == ["i-1", "i-3"], found
    assert cache.snapshot()["misses"] == 2, cache.snapshot()


async def test_cache_entry_expires_after_ttl(sqlite: SqliteCatalog) -> None:
    clock = Clock()
    cache = CachedCatalog(sqlite, max_entries=10, ttl=60, clock=clock)
    await cache.get_items(["i-1"])
    clock.now += 60

    await cache.get_items(["i-1"])

    assert sqlite.round_trips == 2, sqlite.round_trips


async def test_cache_drops_the_least_recently_used_beyond_its_bound(
    sqlite: SqliteCatalog,
) -> None:
    cache = CachedCatalog(sqlite, max_entries=2, ttl=60, clock=Clock())
    await cache.get_items(["i-1", "i-2"])
    await cache.get_items(["i-1"])  # i-2 is now the least recently used
    await cache.get_items(["i-3"])

    await cache.get_items(["i-1", "i-3"])

    assert cache.snapshot()["entries"] == 2, cache.snapshot()
    assert sqlite.round_trips == 2, sqlite.round_trips


async def test_cache_counts_the_source_round_trips(sqlite: SqliteCatalog) -> None:
    cache = CachedCatalog(sqlite, max_entries=10, ttl=60, clock=Clock())

    await cache.get_items(["i-1", "i-2"])

    assert cache.round_trips == 1, cache.round_trips
