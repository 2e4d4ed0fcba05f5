"""Recording what users do, so that Personalize's recommendations follow it."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from schema import limits, ports
from schema.context import Context
from schema.errors import BadUserInput, NotFound, code_of

# Re-exported: gateway/events/segment.py imports it from here.
from schema.inputs import shorten, validate_length


@strawberry.input(description="One thing the user did, such as viewing or buying an item.")
class EventInput:
    event_type: str = strawberry.field(
        description="What the user did, as in the EVENT_TYPE column of your interactions "
        f"dataset, e.g. `view` or `purchase` (1 to {limits.MAX_EVENT_TYPE_LENGTH} characters)."
    )
    item_id: strawberry.ID | None = strawberry.field(
        default=None,
        description=f"The item it concerns (1 to {limits.MAX_ID_LENGTH} characters).",
    )
    event_value: float | None = strawberry.field(
        default=None, description="A value for the EVENT_VALUE column, such as a rating."
    )
    properties: JSON | None = strawberry.field(
        default=None,
        description="More fields of your interactions dataset, as a JSON object with camelCase "
        'keys, e.g. `{"numberOfRatings": "12"}`. The gateway sends it as the JSON string '
        f"Personalize wants (at most {limits.MAX_PROPERTIES_LENGTH} characters); the keys "
        "userId, sessionId, eventType, timestamp, recommendationId and impression are reserved.",
    )
    recommendation_id: str | None = strawberry.field(
        default=None,
        description="The `recommendationId` of the list the item was shown in, so Personalize "
        "can attribute the event to it and record the list as an impression (1 to "
        f"{limits.MAX_RECOMMENDATION_ID_LENGTH} characters).",
    )
    impression: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The items shown to the user, in order, when you did not get them from a "
        f"recommendation list (at most {limits.MAX_IMPRESSION_ITEMS}; empty means none).",
    )
    sent_at: datetime | None = strawberry.field(
        default=None,
        description="When it happened (ISO 8601; UTC unless it has an offset). Defaults to the "
        "time the gateway receives it.",
    )
    event_id: str | None = strawberry.field(
        default=None,
        description="Your id for the event: Personalize keeps only the first event of an id, so "
        f"retries are harmless (1 to {limits.MAX_EVENT_ID_LENGTH} characters).",
    )


@strawberry.input(description="Events of one session of one user, in the order they happened.")
class RecordEventsInput:
    session_id: str = strawberry.field(
        description="Your app's id for the user's visit, so events before sign-in count for the "
        f"user later (1 to {limits.MAX_SESSION_ID_LENGTH} characters; `null`, `undefined` and "
        "the like are refused: Personalize would drop those events)."
    )
    events: list[EventInput] = strawberry.field(
        description="The events; large batches are sent to Personalize "
        f"{limits.MAX_EVENTS_PER_CALL} at a time."
    )
    user_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The signed-in user, if any (1 to "
        f"{limits.MAX_ID_LENGTH} characters). When the gateway authenticates users by token, "
        "the token's user is used and this must be absent or the same.",
    )


@strawberry.enum(description="When `recordEvents` answered.")
class EventDelivery(enum.Enum):
    SYNC = strawberry.enum_value(
        "SYNC", description="After Personalize recorded the accepted events."
    )
    BUFFERED = strawberry.enum_value(
        "BUFFERED",
        description="Once the accepted events were queued; the gateway delivers them within "
        "moments, retrying failures, and logs any it finally cannot deliver.",
    )


@strawberry.type(description="An event that was not recorded, and why.")
class EventFailure:
    index: int = strawberry.field(description="Its position in `events`, from 0.")
    code: str = strawberry.field(
        description="Why, as an error code such as UPSTREAM_THROTTLED (the same codes as "
        "`extensions.code`)."
    )
    message: str = strawberry.field(description="Why, for people.")


@strawberry.type(description="What became of the events sent to `recordEvents`.")
class RecordEventsResult:
    accepted: int = strawberry.field(
        description="How many events were accepted: recorded by Personalize (SYNC) or queued "
        "for delivery (BUFFERED)."
    )
    failed: int = strawberry.field(description="How many were not; see `failures`.")
    failures: list[EventFailure] = strawberry.field(
        description="One entry per event not recorded; empty when all were."
    )
    delivery: EventDelivery = strawberry.field(description="When the gateway answered.")

    @classmethod
    def from_port(cls, recorded: ports.RecordedEvents) -> RecordEventsResult:
        return cls(
            accepted=recorded.accepted,
            failed=len(recorded.failures),
            failures=[
                EventFailure(
                    index=failure.index,
                    code=code_of(failure.error),
                    message=failure.error.message,
                )
                for failure in recorded.failures
            ],
            delivery=EventDelivery(recorded.delivery.value),
        )


async def record_events(
    info: strawberry.Info[Context, None],
    input: Annotated[
        RecordEventsInput, strawberry.argument(description="The session and its events.")
    ],
) -> RecordEventsResult:
    sink = info.context.events
    if sink is None:
        raise NotFound("recordEvents is not available: this gateway has no event tracker.")
    batch = to_event_batch(
        input,
        user_id=event_user_id(info.context, input.user_id),
        max_events=sink.max_batch,
        now=datetime.now(UTC),
    )
    return RecordEventsResult.from_port(await sink.record(batch))


def event_user_id(context: Context, requested: str | None) -> str | None:
    """The user the events are recorded for: the token's, never someone else's.

    Without `userId` the events go to the caller's own user (none for an anonymous caller: a
    session alone is fine). A `userId` must be the caller's, unless the caller may act for any
    user (a trusted backend, or no authentication configured).
    """
    if requested is None:
        return context.identity.user_id
    return context.identity.authorize_user("recordEvents", requested)


def to_event_batch(
    input: RecordEventsInput, *, user_id: str | None, max_events: int, now: datetime
) -> ports.EventBatch:
    """The input checked against every PutEvents limit, ready for the sink."""
    if not 1 <= len(input.events) <= max_events:
        raise BadUserInput(
            f"events must hold 1 to {max_events} events in one recordEvents call, "
            f"got {len(input.events)}."
        )
    return ports.EventBatch(
        session_id=validate_session_id(input.session_id),
        user_id=None if user_id is None else validate_length("userId", user_id),
        events=tuple(
            to_event(event, f"events[{index}]", now) for index, event in enumerate(input.events)
        ),
    )


def validate_session_id(value: str) -> str:
    validate_length("sessionId", value, limits.MAX_SESSION_ID_LENGTH)
    if not value.strip() or value.strip().lower() in limits.PLACEHOLDER_SESSION_IDS:
        raise BadUserInput(
            f"sessionId {shorten(value)} is not a session id: Personalize would accept it and "
            "drop the events. Send the id your app gave the visit."
        )
    return value


def to_event(event: EventInput, path: str, now: datetime) -> ports.Event:
    return ports.Event(
        event_type=validate_length(
            f"{path}.eventType", event.event_type, limits.MAX_EVENT_TYPE_LENGTH
        ),
        sent_at=to_sent_at(f"{path}.sentAt", event.sent_at, now),
        item_id=None if event.item_id is None else validate_length(f"{path}.itemId", event.item_id),
        event_value=event.event_value,
        properties=to_properties(f"{path}.properties", event.properties),
        recommendation_id=None
        if event.recommendation_id is None
        else validate_length(
            f"{path}.recommendationId",
            event.recommendation_id,
            limits.MAX_RECOMMENDATION_ID_LENGTH,
        ),
        impression=to_impression(f"{path}.impression", event.impression or ()),
        event_id=None
        if event.event_id is None
        else validate_length(f"{path}.eventId", event.event_id, limits.MAX_EVENT_ID_LENGTH),
    )


def to_sent_at(path: str, value: datetime | None, now: datetime) -> datetime:
    """When an event happened, in UTC: `now` if unsaid; BadUserInput if Personalize cannot
    take it (before 1970, or a date whose offset carries it past year 1 or 9999)."""
    if value is None:
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        in_utc = None
    if in_utc is None or in_utc < limits.EARLIEST_SENT_AT:
        raise BadUserInput(
            f"{path} {value.isoformat()} is out of range: Personalize takes times from "
            f"{limits.EARLIEST_SENT_AT.isoformat()} to {limits.LATEST_SENT_AT.isoformat()}."
        )
    return in_utc


def to_properties(path: str, value: Any) -> str | None:
    """`properties` as the JSON string Personalize wants; None when there are none."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadUserInput(
            f'{path} must be a JSON object such as {{"numberOfRatings": "12"}}, '
            f"got {type(value).__name__}."
        )
    if not value:
        return None
    reserved = sorted(key for key in value if key.lower() in limits.RESERVED_PROPERTIES)
    if reserved:
        raise BadUserInput(
            f"{path} may not use the keys Personalize reserves (userId, sessionId, eventType, "
            f"timestamp, recommendationId, impression, in any case); found {', '.join(reserved)}."
        )
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if len(text) > limits.MAX_PROPERTIES_LENGTH:
        raise BadUserInput(
            f"{path} is {len(text)} characters as JSON; the limit is "
            f"{limits.MAX_PROPERTIES_LENGTH}."
        )
    return text


def to_impression(path: str, item_ids: Sequence[str]) -> tuple[str, ...]:
    if len(item_ids) > limits.MAX_IMPRESSION_ITEMS:
        raise BadUserInput(
            f"{path} holds at most {limits.MAX_IMPRESSION_ITEMS} item ids, got {len(item_ids)}."
        )
    return tuple(
        validate_length(f"{path}[{index}]", item_id) for index, item_id in enumerate(item_ids)
    )
