"""What the GraphQL API needs from the outside world, as protocols the gateway implements."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class PortError(Exception):
    """Raised by an adapter behind a port; `message` is written for the app's users to read.

    The schema turns each kind into a coded GraphQL error (`schema.errors.code_of`), the
    Segment webhook into an HTTP status.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(PortError):
    """The service refused the request's input (Personalize's InvalidInputException)."""


class ResourceNotFound(PortError):
    """What the request needs does not exist there: a campaign, a filter, an event tracker."""


class Throttled(PortError):
    """The service is throttling us; a later retry may pass."""


class Unavailable(PortError):
    """The service did not answer properly: timeout, connection error, 5xx."""


class CatalogUnavailable(PortError):
    """The catalog did not answer: timeout, connection error, refused credentials, a bad answer.

    Raised by every catalog source. It never fails a query's recommendations: their items
    become null and the query carries one CATALOG_UNAVAILABLE error naming their paths.
    """


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
        """Return the items found, in ONE round trip; ids missing from the catalog are absent.

        Raise `CatalogUnavailable` when the catalog cannot answer.
        """
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
    # The item's details when Personalize returned them (metadataColumns): no catalog lookup.
    details: CatalogItem | None = None


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
        personalize_context: Mapping[str, str],
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
        personalize_context: Mapping[str, str],
    ) -> Recommendations:
        """The given items reordered for a user (personalized-ranking)."""
        ...


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a user did, as Personalize's PutEvents records it; already within its limits."""

    event_type: str  # e.g. "view", "purchase": the EVENT_TYPE of the interactions dataset
    sent_at: datetime  # timezone-aware
    item_id: str | None = None
    event_value: float | None = None
    properties: str | None = None  # a JSON object, serialised: Personalize wants a string
    recommendation_id: str | None = None
    impression: tuple[str, ...] = ()
    event_id: str | None = None  # Personalize keeps the first event of each id


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events of one session (and user, once known), in the order they happened."""

    session_id: str
    user_id: str | None
    events: tuple[Event, ...]


class EventDelivery(enum.Enum):
    """When an `EventSink` answers: after Personalize recorded the events, or once queued."""

    SYNC = "SYNC"
    BUFFERED = "BUFFERED"


@dataclass(frozen=True, slots=True)
class EventFailure:
    """Why the event at `index` of a batch was not recorded."""

    index: int
    error: PortError


@dataclass(frozen=True, slots=True)
class RecordedEvents:
    """What became of a batch: how many events were accepted, and why the others were not."""

    accepted: int
    failures: tuple[EventFailure, ...] = ()
    delivery: EventDelivery = EventDelivery.SYNC


class EventSink(Protocol):
    """Records events in Personalize's event tracker (or a stand-in); inputs arrive validated."""

    @property
    def max_batch(self) -> int:
        """The most events one batch may hold; `recordEvents` refuses more before any call."""
        ...

    async def record(self, batch: EventBatch) -> RecordedEvents:
        """Record every event of `batch`; raise a `PortError` when none could be."""
        ...
