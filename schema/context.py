"""What every resolver of one GraphQL request can reach."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, cast

from strawberry.dataloader import DataLoader

from schema.identity import UNRESTRICTED, Identity
from schema.ports import Catalog, CatalogItem, CatalogUnavailable, EventSink, Recommender

logger = logging.getLogger(__name__)

# What the item loader holds for an id whose catalog batch failed.
_UNAVAILABLE: Final = object()


@dataclass
class Context:
    """One request's view of the world: the ports, the configured filters and fresh loaders.

    Build one per request: `items` caches what it loads for as long as the Context lives.
    """

    recommender: Recommender
    catalog: Catalog
    filters: Mapping[str, str]  # filter name clients use -> filter ARN
    request: Any = None  # the HTTP request when served over HTTP
    events: EventSink | None = None  # None: this gateway records no events
    # Root field ("recommendations", "ranking") -> Personalize context derived from the request;
    # the query's own `context` entries win key by key.
    derived_personalize_context: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    identity: Identity = UNRESTRICTED  # who is asking; unrestricted when auth is off
    items: DataLoader[str, object] = field(init=False, repr=False)
    # Set when a catalog batch failed: the error, and the paths of the items it left null.
    catalog_failure: CatalogUnavailable | None = field(default=None, init=False, repr=False)
    unavailable_item_paths: list[list[str | int]] = field(
        default_factory=list, init=False, repr=False
    )
    _upstream_calls: int = field(default=0, init=False, repr=False)
    _upstream_idle: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self) -> None:
        self.items = DataLoader(load_fn=self._load_items)
        self._upstream_idle.set()

    @classmethod
    def create(
        cls,
        *,
        recommender: Recommender,
        catalog: Catalog,
        filters: Mapping[str, str],
        request: Any = None,
        events: EventSink | None = None,
        derived_personalize_context: Mapping[str, Mapping[str, str]] | None = None,
        identity: Identity = UNRESTRICTED,
    ) -> Context:
        """A Context for one request (keyword-only spelling of the constructor)."""
        return cls(
            recommender=recommender,
            catalog=catalog,
            filters=filters,
            request=request,
            events=events,
            derived_personalize_context=derived_personalize_context or {},
            identity=identity,
        )

    @asynccontextmanager
    async def upstream_call(self) -> AsyncIterator[None]:
        """Wraps each Recommender call, so that item lookups can wait for all of them."""
        self._upstream_calls += 1
        self._upstream_idle.clear()
        try:
            yield
        finally:
            self._upstream_calls -= 1
            if self._upstream_calls == 0:
                self._upstream_idle.set()

    async def load_item(
        self, item_id: str, path: list[str | int] | None = None
    ) -> CatalogItem | None:
        """The catalog item through `items`, once no Recommender call is in flight.

        Root fields answer at different times; waiting for the last one lets the items of every
        root field of the query go to the catalog in one batch. When the catalog cannot answer,
        the item is None and `path` (the field's path in the response) is kept for the query's
        one CATALOG_UNAVAILABLE error.
        """
        await self._upstream_idle.wait()
        found = await self.items.load(item_id)
        if found is _UNAVAILABLE:
            if path is not None:
                self.unavailable_item_paths.append(path)
            return None
        return cast("CatalogItem | None", found)

    async def load_items(
        self, item_ids: Sequence[str], paths: Sequence[list[str | int]]
    ) -> list[CatalogItem | None]:
        """The catalog items of `item_ids`, in order, as `load_item` finds them (`paths[i]` is
        where the i-th goes in the response): in the batch shared by every lookup of the query,
        once no Recommender call is in flight."""
        await self._upstream_idle.wait()
        found = await self.items.load_many(item_ids)
        items: list[CatalogItem | None] = []
        for entry, path in zip(found, paths, strict=True):
            if entry is _UNAVAILABLE:
                self.unavailable_item_paths.append(path)
                items.append(None)
            else:
                items.append(cast("CatalogItem | None", entry))
        return items

    async def _load_items(self, item_ids: list[str]) -> list[object]:
        """The DataLoader batch: every id asked for in one tick, looked up in one catalog call."""
        try:
            return list(await load_catalog_items(self.catalog, item_ids))
        except CatalogUnavailable as error:
            self.catalog_failure = error
        except Exception:
            # A catalog's bug still leaves the recommendations standing; the log has it.
            logger.exception("The catalog failed on %d item ids", len(item_ids))
            self.catalog_failure = CatalogUnavailable("The catalog failed to answer.")
        return [_UNAVAILABLE] * len(item_ids)


async def load_catalog_items(catalog: Catalog, item_ids: list[str]) -> list[CatalogItem | None]:
    """Every id asked for in one tick, looked up in one catalog call, in the order asked."""
    found = await catalog.get_items(list(dict.fromkeys(item_ids)))
    return [found.get(item_id) for item_id in item_ids]
