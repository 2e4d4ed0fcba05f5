"""An in-process item cache in front of any catalog source: bounded, least recently used, timed."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, Protocol

from schema.ports import CatalogItem


class CatalogSource(Protocol):
    """A catalog the cache sits in front of: the `Catalog` port, and a readiness check."""

    async def get_items(self, item_ids: Sequence[str]) -> Mapping[str, CatalogItem]: ...

    async def ping(self) -> None: ...


@dataclass
class ItemCacheCounters:
    """Lookups counted since start-up, for /readyz."""

    hits: int = 0  # ids answered from the cache, missing items included
    misses: int = 0  # ids asked of the source
    entries: int = 0  # ids held now

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class CachedCatalog:
    """Keeps what `source` answered for each id (an item, or that it has none) for `ttl` seconds.

    At most `max_entries` ids are kept, the least recently used dropped first. A lookup asks
    `source` only for the ids not held, in one call, so a query still costs at most one round
    trip. An item changed in the source shows after at most `ttl` seconds. `clock` is for tests.
    """

    def __init__(
        self,
        source: CatalogSource,
        *,
        max_entries: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be 1 or more, got {max_entries}")
        if ttl <= 0:
            raise ValueError(f"ttl must be more than 0 seconds, got {ttl}")
        self.source = source
        self.max_entries = max_entries
        self.ttl = ttl
        self.counters = ItemCacheCounters()
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    @property
    def round_trips(self) -> int:
        """The source's round trips (those the cache could not spare)."""
        return int(getattr(self.source, "round_trips", 0))

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        now = self._clock()
        found: dict[str, CatalogItem] = {}
        wanted: list[str] = []
        unique = list(dict.fromkeys(item_ids))
        for item_id in unique:
            entry = self._entries.get(item_id)
            if entry is None or now >= entry.expires_at:
                wanted.append(item_id)
                continue
            self._entries.move_to_end(item_id)
            if entry.item is not None:
                found[item_id] = entry.item
        self.counters.hits += len(unique) - len(wanted)
        self.counters.misses += len(wanted)
        if wanted:
            fetched = await self.source.get_items(wanted)
            expires_at = self._clock() + self.ttl
            for item_id in wanted:
                item = fetched.get(item_id)
                self._entries[item_id] = _Entry(expires_at, item)
                self._entries.move_to_end(item_id)
                if item is not None:
                    found[item_id] = item
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return found

    async def ping(self) -> None:
        await self.source.ping()

    def snapshot(self) -> dict[str, Any]:
        """The counters and bounds, for /readyz."""
        self.counters.entries = len(self._entries)
        return {**self.counters.as_dict(), "max_entries": self.max_entries, "ttl": self.ttl}


class _Entry(NamedTuple):
    expires_at: float
    item: CatalogItem | None  # None: the source has no such item
