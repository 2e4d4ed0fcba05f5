"""What the GraphQL API needs from the outside world, as protocols the gateway implements."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """An item as the catalog describes it, ready to show to people."""

    id: str
    title: str | None = None
    description: str | None = None
    image_url: str | None = None
    price: float | None = None
    category: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)  # the other catalog columns


class Catalog(Protocol):
    """Looks items up by id."""

    async def get_items(self, item_ids: Sequence[str]) -> Mapping[str, CatalogItem]:
        """Return the items found, in ONE round trip; ids missing from the catalog are absent."""
        ...


@dataclass(frozen=True, slots=True)
class FilterRequest:
    """A configured filter, resolved to its ARN, with values formatted for Personalize."""

    arn: str
    values: Mapping[str, str]  # {"CATEGORY": "\"shoes\",\"boots\""}, numbers unquoted


@dataclass(frozen=True, slots=True)
class PromotionRequest:
    """A promotion: a share of the recommendations chosen by its own filter."""

    name: str
    percent_promoted_items: int
    filter: FilterRequest | None


class RecommendationSource(enum.Enum):
    """Who produced a list of recommendations."""

    PERSONALIZE = "PERSONALIZE"
    FALLBACK = "FALLBACK"


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommended item as Personalize returns it: an id and a score, no details."""

    item_id: str
    score: float | None
    promotion_name: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Recommendations:
    """A list of recommendations in Personalize's order, with the id Personalize gave it."""

    recommendation_id: str | None
    items: tuple[Recommendation, ...]
    source: RecommendationSource = RecommendationSource.PERSONALIZE


class Recommender(Protocol):
    """Asks Personalize (or a stand-in) for recommendations; inputs arrive already validated."""

    async def recommend(
        self,
        *,
        user_id: str,
        num_results: int,
        filter: FilterRequest | None,
        context: Mapping[str, str],
        promotion: PromotionRequest | None,
    ) -> Recommendations:
        """Items for a user (user-personalization)."""
        ...

    async def related_items(
        self,
        *,
        item_id: str,
        user_id: str | None,
        num_results: int,
        filter: FilterRequest | None,
    ) -> Recommendations:
        """Items related to an item (similar-items), optionally for a user."""
        ...

    async def rank(
        self,
        *,
        user_id: str,
        item_ids: Sequence[str],
        filter: FilterRequest | None,
        context: Mapping[str, str],
    ) -> Recommendations:
        """The given items reordered for a user (personalized-ranking)."""
        ...
