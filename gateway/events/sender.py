"""The `EventSink` port on Personalize's event tracker, through aiobotocore's personalize-events."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from gateway.observations import Observer
from gateway.personalize.errors import RootField, not_available, translate_error, unset_note
from gateway.personalize.recommender import report_call
from schema import limits
from schema.ports import (
    Event,
    EventBatch,
    EventDelivery,
    EventFailure,
    PortError,
    RecordedEvents,
    Unavailable,
)

logger = logging.getLogger(__name__)

RECORD_EVENTS = RootField("recordEvents", resource="event tracker")


class UserCache(Protocol):
    """Anything holding answers per user (a cache, a store of stale answers).

    Once a user's events reach Personalize, their entries are out of date: `invalidate_user`
    forgets them.
    """

    async def invalidate_user(self, user_id: str) -> object: ...


@dataclass
class EventCounters:
    """Events counted since start-up, for /readyz: where every accepted event went."""

    accepted: int = 0  # taken by recordEvents or the webhook
    delivered: int = 0  # recorded by Personalize
    failed: int = 0  # given up on, each logged
    retried: int = 0  # PutEvents calls made again after a failure
    pending: int = 0  # queued or on their way (buffered delivery)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class PutEventsSender:
    """Sends events of one session to PutEvents, then has `caches` forget the session's user.

    `client` is the personalize-events client of the app's lifespan; its retry configuration
    applies to each call. With no `tracking_id`, every call raises ResourceNotFound, naming
    `hints["recordEvents"]` (where the tracker is configured) in development; in `production`
    the message names nothing of the configuration (the log does). `deadline` bounds each call,
    retries included (Unavailable when it passes). `observer` hears of every call and of the
    events delivered or failed.
    """

    def __init__(
        self,
        client: Any,
        tracking_id: str | None,
        *,
        caches: Sequence[UserCache] = (),
        production: bool = False,
        hints: Mapping[str, str] | None = None,
        deadline: float | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.observer = observer
        self._client = client
        self._deadline = deadline
        self._tracking_id = tracking_id
        self._caches = tuple(caches)
        self._production = production
        self._hints = dict(hints or {})

    async def put(self, session_id: str, user_id: str | None, events: Sequence[Event]) -> None:
        """One PutEvents call of at most 10 events; a `PortError` when it fails."""
        if self._tracking_id is None:
            hint = self._hints.get(RECORD_EVENTS.name)
            raise not_available(
                RECORD_EVENTS,
                "recordEvents is not configured on this gateway: it has no Personalize event "
                f"tracker{unset_note(hint)}.",
                production=self._production,
            )
        params: dict[str, Any] = {
            "trackingId": self._tracking_id,
            "sessionId": session_id,
            "eventList": [event_params(event) for event in events],
        }
        if user_id is not None:
            params["userId"] = user_id
        started = time.perf_counter()
        deadline = asyncio.timeout(self._deadline)
        try:
            async with deadline:
                answer = await self._client.put_events(**params)
        except (ClientError, BotoCoreError, TimeoutError) as error:
            if deadline.expired():
                logger.warning("PutEvents gave no answer within %g s", self._deadline)
                failure: PortError = Unavailable(
                    f"Amazon Personalize did not record the events within {self._deadline:g} s; "
                    "retry later."
                )
            else:
                failure = translate_error(
                    RECORD_EVENTS, error, production=self._production, hints=self._hints
                )
            if self.observer is not None:
                report_call(self.observer, "put_events", params, started, failure, error)
                self.observer.events("failed", len(events))
            raise failure from error
        if self.observer is not None:
            report_call(self.observer, "put_events", params, started, None, answer)
            self.observer.events("delivered", len(events))
        # Personalize files a session's events under its user; anonymous apps ask by session.
        await self._invalidate(dict.fromkeys(user for user in (user_id, session_id) if user))

    async def _invalidate(self, user_ids: Iterable[str]) -> None:
        for cache in self._caches:
            for user_id in user_ids:
                try:
                    await cache.invalidate_user(user_id)
                except Exception:
                    logger.exception("Could not invalidate %s's entries in %r", user_id, cache)


class DirectEventSink:
    """Sync delivery: `record` answers once PutEvents has recorded the events, 10 a call.

    A call that fails (after the client's retries) fails its events only: the others still go,
    and the answer lists the failures. If no event is recorded, the first error is raised.
    """

    delivery = EventDelivery.SYNC

    def __init__(self, sender: PutEventsSender, *, max_batch: int) -> None:
        self.sender = sender
        self.max_batch = max_batch
        self.counters = EventCounters()

    async def record(self, batch: EventBatch) -> RecordedEvents:
        batch = with_event_ids(batch)
        self.counters.accepted += len(batch.events)
        if self.sender.observer is not None:
            self.sender.observer.events("accepted", len(batch.events))
        failures: list[EventFailure] = []
        first_error: PortError | None = None
        for start, chunk in chunks(batch.events):
            try:
                await self.sender.put(batch.session_id, batch.user_id, chunk)
            except PortError as error:
                first_error = first_error or error
                failures += [
                    EventFailure(index, error) for index in range(start, start + len(chunk))
                ]
                self.counters.failed += len(chunk)
            else:
                self.counters.delivered += len(chunk)
        if first_error is not None and len(failures) == len(batch.events):
            raise first_error
        return RecordedEvents(accepted=len(batch.events) - len(failures), failures=tuple(failures))

    def snapshot(self) -> dict[str, Any]:
        """Counters and delivery mode, for /readyz."""
        return {"delivery": self.delivery.value.lower(), **self.counters.as_dict()}


def chunks(events: Sequence[Event]) -> Iterator[tuple[int, Sequence[Event]]]:
    """The events in PutEvents-sized runs, each with the index of its first event."""
    size = limits.MAX_EVENTS_PER_CALL
    for start in range(0, len(events), size):
        yield start, events[start : start + size]


def with_event_ids(batch: EventBatch) -> EventBatch:
    """The batch with an id on every event: the client's, else a new one (uuid4, hex).

    Given once, when the gateway accepts the events, so that every attempt to deliver them
    (botocore's retries and the buffer's) carries the same ids, and Personalize, which keeps
    the first event of an id, records an event sent twice once.
    """
    if all(event.event_id is not None for event in batch.events):
        return batch
    events = tuple(
        event
        if event.event_id is not None
        else dataclasses.replace(event, event_id=uuid.uuid4().hex)
        for event in batch.events
    )
    return dataclasses.replace(batch, events=events)


def event_params(event: Event) -> dict[str, Any]:
    """One member of PutEvents' eventList."""
    params: dict[str, Any] = {"eventType": event.event_type, "sentAt": event.sent_at}
    optional: Mapping[str, Any] = {
        "itemId": event.item_id,
        "eventValue": event.event_value,
        "properties": event.properties,
        "recommendationId": event.recommendation_id,
        "impression": list(event.impression) or None,
        "eventId": event.event_id,
    }
    params |= {name: value for name, value in optional.items() if value is not None}
    return params
