"""In-memory stand-ins for the ports, recording every call, to test the schema on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schema.ports import (
    CatalogItem,
    EventBatch,
    FilterRequest,
    PromotionRequest,
    Recommendation,
    Recommendations,
    RecordedEvents,
)


@dataclass
class FakeRecommender:
    """Recommends `item_ids` in their order, scoring the n-th 1/2**n (exact in binary).

    `recommend` marks its first item as promoted when a promotion is asked for; `rank` orders
    known items by their place in `item_ids` and appends unknown ones with no score; `answer`,
    when set, is returned as it is by every method; `failure`, when set, is raised by every one.
    `pauses` makes a method yield to the event loop that many times before answering, the way a
    network call would.
    """

    item_ids: Sequence[str] = ()
    answer: Recommendations | None = None
    failure: Exception | None = None
    pauses: Mapping[str, int] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def recommend(
        self,
        *,
        user_id: str,
        num_results: int,
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
        promotion: PromotionRequest | None,
    ) -> Recommendations:
        await self._record(
            "recommend",
            user_id=user_id,
            num_results=num_results,
            filter=filter,
            personalize_context=personalize_context,
            promotion=promotion,
        )
        recommendations = self._scored(self.item_ids[:num_results])
        if promotion is not None and recommendations:
            first = recommendations[0]
            recommendations[0] = Recommendation(first.item_id, first.score, promotion.name)
        return self._answer(recommendations)

    async def related_items(
        self,
        *,
        item_id: str,
        user_id: str | None,
        num_results: int,
        filter: FilterRequest | None,
    ) -> Recommendations:
        await self._record(
            "related_items",
            item_id=item_id,
            user_id=user_id,
            num_results=num_results,
            filter=filter,
        )
        others = [other for other in self.item_ids if other != item_id]
        return self._answer(self._scored(others[:num_results]))

    async def rank(
        self,
        *,
        user_id: str,
        item_ids: Sequence[str],
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
    ) -> Recommendations:
        await self._record(
            "rank",
            user_id=user_id,
            item_ids=item_ids,
            filter=filter,
            personalize_context=personalize_context,
        )
        known = sorted(set(item_ids) & set(self.item_ids), key=self.item_ids.index)
        unknown = [Recommendation(item_id, None) for item_id in item_ids if item_id not in known]
        return self._answer([*self._scored(known), *unknown])

    async def _record(self, method: str, **arguments: Any) -> None:
        self.calls.append((method, arguments))
        for _ in range(self.pauses.get(method, 0)):
            await asyncio.sleep(0)
        if self.failure is not None:
            raise self.failure

    def _scored(self, item_ids: Sequence[str]) -> list[Recommendation]:
        return [Recommendation(item_id, 1 / 2**rank) for rank, item_id in enumerate(item_ids)]

    def _answer(self, recommendations: list[Recommendation]) -> Recommendations:
        if self.answer is not None:
            return self.answer
        return Recommendations(recommendation_id="rid-1", items=tuple(recommendations))


@dataclass
class FakeCatalog:
    """Holds `items` in a dict and records the ids of every `get_items` call.

    `failure`, when set, is raised by `get_items`.
    """

    items: Mapping[str, CatalogItem] = field(default_factory=dict)
    failure: Exception | None = None
    calls: list[list[str]] = field(default_factory=list)

    async def get_items(self, item_ids: Sequence[str]) -> Mapping[str, CatalogItem]:
        self.calls.append(list(item_ids))
        if self.failure is not None:
            raise self.failure
        return {item_id: self.items[item_id] for item_id in item_ids if item_id in self.items}


@dataclass
class FakeEventSink:
    """Keeps every batch it is given and accepts all its events, unless told otherwise.

    `answer`, when set, is returned as it is; `failure`, when set, is raised.
    """

    max_batch: int = 100
    answer: RecordedEvents | None = None
    failure: Exception | None = None
    batches: list[EventBatch] = field(default_factory=list)

    async def record(self, batch: EventBatch) -> RecordedEvents:
        self.batches.append(batch)
        if self.failure is not None:
            raise self.failure
        return self.answer or RecordedEvents(accepted=len(batch.events))


FILTERS = {
    "exclude-purchased": "arn:aws:personalize:us-east-1:000000000000:filter/exclude-purchased",
    "category": "arn:aws:personalize:us-east-1:000000000000:filter/category",
    "max-price": "arn:aws:personalize:us-east-1:000000000000:filter/max-price",
}
ITEM_IDS = [f"i{n}" for n in range(1, 41)]
MISSING_ITEM_ID = "i13"  # known to the recommender, absent from the catalog


def catalog_item(item_id: str) -> CatalogItem:
    return CatalogItem(
        id=item_id,
        title=f"Item {item_id}",
        description=f"About {item_id}.",
        image_url=f"/images/items/{item_id}.svg",
        price=10.5,
        category="shoes",
        attributes={"COLOR": "red"},
    )
