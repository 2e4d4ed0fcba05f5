"""What every resolver of one GraphQL request can reach."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Final, cast

from schema.identity import UNRESTRICTED, Identity
from schema.ports import Catalog, CatalogItem, CatalogUnavailable, EventSink, Recommender

logger = logging.getLogger(__name__)

# What the item loader holds for an id whose catalog batch failed.
_UNAVAILABLE: Final = object()


@dataclass
class Context:
    """One request's view of the world: the ports, the configured filters and a fresh item loader.

    Build one per request: its item loader caches what it loads for as long as the Context
    lives.
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
    # Set when a catalog batch failed: the error, and the paths of the items it left null.
    catalog_failure: CatalogUnavailable | None = field(default=None, init=False, repr=False)
    unavailable_item_paths: list[list[str | int]] = field(
        default_factory=list, init=False, repr=False
    )
    _upstream_calls: int = field(default=0, init=False, repr=False)
    _upstream_idle: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    # The item loader: what the catalog answered per id (an item, None, or _UNAVAILABLE), the
    # ids waiting for the next batch, and per id asked the batch that will answer it.
    _found: dict[str, object] = field(default_factory=dict, init=False, repr=False)
    _next_batch: _Batch | None = field(default=None, init=False, repr=False)
    _asked: dict[str, _Batch] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
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
        """The catalog item of `item_id`, once no Recommender call is in flight.

        Root fields answer at different times; waiting for the last one lets the items of every
        root field of the query go to the catalog in one batch. When the catalog cannot answer,
        the item is None and `path` (the field's path in the response) is kept for the query's
        one CATALOG_UNAVAILABLE error.
        """
        if not self._upstream_idle.is_set():
            await self._upstream_idle.wait()
        found = self._found.get(item_id, _ABSENT)
        if found is _ABSENT:
            await self._wait_for((item_id,))
            found = self._found[item_id]
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
        if not self._upstream_idle.is_set():
            await self._upstream_idle.wait()
        known = self._found
        missing = [item_id for item_id in item_ids if item_id not in known]
        if missing:
            await self._wait_for(missing)
        items: list[CatalogItem | None] = []
        for item_id, path in zip(item_ids, paths, strict=True):
            entry = known[item_id]
            if entry is _UNAVAILABLE:
                self.unavailable_item_paths.append(path)
                items.append(None)
            else:
                items.append(cast("CatalogItem | None", entry))
        return items

    async def _wait_for(self, item_ids: Sequence[str]) -> None:
        """Until the catalog has answered for `item_ids`: ids already asked wait for their batch,
        the others join the batch that starts once the current tick is over."""
        loop = asyncio.get_running_loop()
        batches: list[_Batch] = []
        for item_id in item_ids:
            batch = self._asked.get(item_id)
            if batch is None:
                batch = self._next_batch
                if batch is None:
                    batch = self._next_batch = _Batch()
                    loop.call_soon(self._start, batch)
                batch.item_ids.append(item_id)
                self._asked[item_id] = batch
            if batch not in batches:
                batches.append(batch)
        for batch in batches:
            if not batch.done:
                # A future per waiter: a cancelled lookup cancels only its own.
                answered = loop.create_future()
                batch.waiters.append(answered)
                await answered

    def _start(self, batch: _Batch) -> None:
        batch.task = asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: _Batch) -> None:
        """One batch: every id asked for until it starts, looked up in one catalog call."""
        if self._next_batch is batch:
            self._next_batch = None
        item_ids = batch.item_ids
        found: list[object]
        try:
            found = list(await load_catalog_items(self.catalog, item_ids))
        except CatalogUnavailable as error:
            self.catalog_failure = error
            found = [_UNAVAILABLE] * len(item_ids)
        except Exception:
            # A catalog's bug still leaves the recommendations standing; the log has it.
            logger.exception("The catalog failed on %d item ids", len(item_ids))
            self.catalog_failure = CatalogUnavailable("The catalog failed to answer.")
            found = [_UNAVAILABLE] * len(item_ids)
        except BaseException:
            for item_id in item_ids:  # cancelled: a later lookup asks again
                self._asked.pop(item_id, None)
            batch.finish(cancelled=True)
            raise
        self._found.update(zip(item_ids, found, strict=True))
        batch.finish()


@dataclass(eq=False)
class _Batch:
    """The ids of one catalog call and the lookups waiting for it, released once the answers
    are in the Context's `_found`."""

    item_ids: list[str] = field(default_factory=list)
    waiters: list[asyncio.Future[None]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None  # held, so that the running batch is not collected
    done: bool = False

    def finish(self, *, cancelled: bool = False) -> None:
        self.done = True
        for waiter in self.waiters:
            if waiter.done():
                continue
            if cancelled:
                waiter.cancel()
            else:
                waiter.set_result(None)


# What `_found` holds for an id not asked yet.
_ABSENT: Final = object()


async def load_catalog_items(catalog: Catalog, item_ids: list[str]) -> list[CatalogItem | None]:
    """Every id asked for in one tick, looked up in one catalog call, in the order asked."""
    found = await catalog.get_items(list(dict.fromkeys(item_ids)))
    return [found.get(item_id) for item_id in item_ids]
