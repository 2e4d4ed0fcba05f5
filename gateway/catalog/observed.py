"""Any catalog source with each batch it looks up reported to an observer (metrics, traces)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from gateway.catalog.cache import CatalogSource
from gateway.observations import CatalogBatch, Observer
from schema.ports import CatalogItem


class ObservedCatalog:
    """`source`, its lookups timed and reported to `observer` as batches of `name`."""

    def __init__(self, source: CatalogSource, *, name: str, observer: Observer) -> None:
        self.source = source
        self.name = name
        self.observer = observer

    async def get_items(self, item_ids: Sequence[str]) -> Mapping[str, CatalogItem]:
        started_ns = time.time_ns()
        started = time.perf_counter()
        found: Mapping[str, CatalogItem] = {}
        ok = False
        try:
            found = await self.source.get_items(item_ids)
            ok = True
        finally:
            self.observer.catalog_batch(
                CatalogBatch(
                    source=self.name,
                    ids=len(item_ids),
                    found=len(found),
                    ok=ok,
                    started_ns=started_ns,
                    seconds=time.perf_counter() - started,
                )
            )
        return found

    @property
    def round_trips(self) -> int:
        """The source's own count of lookups, when it keeps one."""
        return int(getattr(self.source, "round_trips", 0))

    async def ping(self) -> None:
        await self.source.ping()
