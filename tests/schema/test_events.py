"""recordEvents on its own: every PutEvents limit, checked before the sink is called."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from schema import Context, schema
from schema.identity import ANONYMOUS, Identity
from schema.ports import Event, EventBatch, EventDelivery, EventFailure, RecordedEvents, Throttled
from tests.schema.fakes import FILTERS, FakeCatalog, FakeEventSink, FakeRecommender

RECORD = """
mutation Record($input: RecordEventsInput!) {
  recordEvents(input: $input) { accepted failed failures { index code message } delivery }
}
"""
SENT_AT = "2024-05-01T10:00:00+00:00"


def event(**changes: Any) -> dict[str, Any]:
    return {"eventType": "view", "itemId": "i1", "sentAt": SENT_AT, **changes}


def record_input(**changes: Any) -> dict[str, Any]:
    return {"sessionId": "s-1", "userId": "u1", "events": [event()], **changes}


@pytest.fixture
def sink() -> FakeEventSink:
    return FakeEventSink()


@pytest.fixture
def events_context(sink: FakeEventSink) -> Context:
    return Context(
        recommender=FakeRecommender(), catalog=FakeCatalog(), filters=FILTERS, events=sink
    )


async def record(context: Context, input: dict[str, Any]) -> Any:
    return await schema.execute(RECORD, variable_values={"input": input}, context_value=context)


async def test_record_events_gives_the_sink_the_batch_as_personalize_wants_it(
    events_context: Context, sink: FakeEventSink
) -> None:
    input = record_input(
        events=[
            event(
                eventValue=4.5,
                properties={"numberOfRatings": "12", "device": "mobile"},
                recommendationId="rid-1",
                impression=["i1", "i2"],
                eventId="e-1",
            )
        ]
    )

    result = await record(events_context, input)

    assert (result.errors, sink.batches) == (
        None,
        [
            EventBatch(
                session_id="s-1",
                user_id="u1",
                events=(
                    Event(
                        event_type="view",
                        sent_at=datetime(2024, 5, 1, 10, tzinfo=UTC),
                        item_id="i1",
                        event_value=4.5,
                        properties='{"numberOfRatings":"12","device":"mobile"}',
                        recommendation_id="rid-1",
                        impression=("i1", "i2"),
                        event_id="e-1",
                    ),
                ),
            )
        ],
    )


async def test_record_events_answers_what_the_sink_accepted(
    events_context: Context, sink: FakeEventSink
) -> None:
    sink.answer = RecordedEvents(
        accepted=10,
        failures=(EventFailure(10, Throttled("Throttled.")),),
        delivery=EventDelivery.SYNC,
    )

    result = await record(events_context, record_input(events=[event()] * 11))

    assert result.data == {
        "recordEvents": {
            "accepted": 10,
            "failed": 1,
            "failures": [{"index": 10, "code": "UPSTREAM_THROTTLED", "message": "Throttled."}],
            "delivery": "SYNC",
        }
    }


async def test_record_events_sent_at_defaults_to_now(
    events_context: Context, sink: FakeEventSink
) -> None:
    before = datetime.now(UTC)

    await record(events_context, record_input(events=[{"eventType": "view"}]))

    assert before <= sink.batches[0].events[0].sent_at <= datetime.now(UTC)


async def test_record_events_sent_at_without_offset_is_utc(
    events_context: Context, sink: FakeEventSink
) -> None:
    await record(events_context, record_input(events=[event(sentAt="2024-05-01T10:00:00")]))

    assert sink.batches[0].events[0].sent_at == datetime(2024, 5, 1, 10, tzinfo=UTC)


async def test_record_events_empty_properties_and_impression_are_left_out(
    events_context: Context, sink: FakeEventSink
) -> None:
    await record(events_context, record_input(events=[event(properties={}, impression=[])]))

    assert (sink.batches[0].events[0].properties, sink.batches[0].events[0].impression) == (
        None,
        (),
    )


async def test_record_events_at_every_limit_is_accepted(
    events_context: Context, sink: FakeEventSink
) -> None:
    at_limit = event(
        eventType="t" * 256,
        itemId="i" * 256,
        properties={"k": "v" * 1016},  # {"k":"…"} is 1024 characters
        recommendationId="r" * 40,
        impression=["i" * 256] * 25,
        eventId="e" * 256,
    )

    result = await record(
        events_context,
        record_input(sessionId="s" * 256, userId="u" * 256, events=[at_limit] * 100),
    )

    assert (result.errors, len(sink.batches[0].events)) == (None, 100)


OVER_THE_LIMITS = [
    ("empty session", {"sessionId": ""}, "sessionId must be 1 to 256 characters long, got 0."),
    ("long session", {"sessionId": "s" * 257}, "sessionId must be 1 to 256 characters long"),
    ("null session", {"sessionId": "null"}, "sessionId 'null' is not a session id"),
    ("undefined session", {"sessionId": " Undefined "}, "' Undefined ' is not a session id"),
    ("blank session", {"sessionId": "   "}, "sessionId '   ' is not a session id"),
    ("long user", {"userId": "u" * 257}, "userId must be 1 to 256 characters long, got 257."),
    ("no events", {"events": []}, "events must hold 1 to 100 events"),
    ("too many events", {"events": [event()] * 101}, "events must hold 1 to 100 events"),
    (
        "empty event type",
        {"events": [event(eventType="")]},
        "events[0].eventType must be 1 to 256 characters long, got 0.",
    ),
    (
        "long event type",
        {"events": [event(), event(eventType="t" * 257)]},
        "events[1].eventType must be 1 to 256 characters long, got 257.",
    ),
    (
        "long item",
        {"events": [event(itemId="i" * 257)]},
        "events[0].itemId must be 1 to 256 characters long, got 257.",
    ),
    (
        "empty item",
        {"events": [event(itemId="")]},
        "events[0].itemId must be 1 to 256 characters long, got 0.",
    ),
    (
        "long properties",
        {"events": [event(properties={"k": "v" * 1017})]},
        "events[0].properties is 1025 characters as JSON; the limit is 1024.",
    ),
    (
        "properties not an object",
        {"events": [event(properties=["a"])]},
        "events[0].properties must be a JSON object",
    ),
    (
        "reserved property",
        {"events": [event(properties={"UserId": "u2"})]},
        "events[0].properties may not use the keys Personalize reserves",
    ),
    (
        "long recommendation id",
        {"events": [event(recommendationId="r" * 41)]},
        "events[0].recommendationId must be 1 to 40 characters long, got 41.",
    ),
    (
        "long impression",
        {"events": [event(impression=["i"] * 26)]},
        "events[0].impression holds at most 25 item ids, got 26.",
    ),
    (
        "long impression item",
        {"events": [event(impression=["i", "i" * 257])]},
        "events[0].impression[1] must be 1 to 256 characters long, got 257.",
    ),
    (
        "long event id",
        {"events": [event(eventId="e" * 257)]},
        "events[0].eventId must be 1 to 256 characters long, got 257.",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [pytest.param(change, message, id=name) for name, change, message in OVER_THE_LIMITS],
)
async def test_record_events_over_a_limit_is_refused_before_the_sink(
    events_context: Context, sink: FakeEventSink, change: dict[str, Any], message: str
) -> None:
    result = await record(events_context, record_input(**change))

    assert (
        [error.extensions for error in result.errors or ()],
        message in result.errors[0].message if result.errors else None,
        sink.batches,
    ) == ([{"code": "BAD_USER_INPUT"}], True, [])


async def test_record_events_batch_limit_comes_from_the_sink(
    events_context: Context, sink: FakeEventSink
) -> None:
    sink.max_batch = 3

    result = await record(events_context, record_input(events=[event()] * 4))

    assert [error.message for error in result.errors or ()] == [
        "events must hold 1 to 3 events in one recordEvents call, got 4."
    ]


async def test_record_events_sink_error_reaches_the_client(
    events_context: Context, sink: FakeEventSink
) -> None:
    sink.failure = Throttled("The event buffer is full.")

    result = await record(events_context, record_input())

    assert [(error.message, error.extensions) for error in result.errors or ()] == [
        ("The event buffer is full.", {"code": "UPSTREAM_THROTTLED"})
    ]


async def test_record_events_without_a_sink_is_not_found() -> None:
    context = Context(recommender=FakeRecommender(), catalog=FakeCatalog(), filters=FILTERS)

    result = await record(context, record_input())

    assert [error.extensions for error in result.errors or ()] == [{"code": "NOT_FOUND"}]


async def test_record_events_token_user_is_used_when_input_has_none(
    events_context: Context, sink: FakeEventSink
) -> None:
    events_context.identity = Identity(user_id="token-user")

    await record(events_context, {"sessionId": "s-1", "events": [event()]})

    assert sink.batches[0].user_id == "token-user"


async def test_record_events_token_user_may_not_record_for_another(
    events_context: Context, sink: FakeEventSink
) -> None:
    events_context.identity = Identity(user_id="token-user")

    result = await record(events_context, record_input(userId="someone-else"))

    assert ([error.extensions for error in result.errors or ()], sink.batches) == (
        [{"code": "FORBIDDEN"}],
        [],
    )


async def test_record_events_anonymous_may_record_a_session_only(
    events_context: Context, sink: FakeEventSink
) -> None:
    events_context.identity = ANONYMOUS

    anonymous = await record(events_context, {"sessionId": "s-1", "events": [event()]})
    named = await record(events_context, record_input(userId="u1"))

    assert (
        anonymous.errors,
        [error.extensions for error in named.errors or ()],
        [batch.user_id for batch in sink.batches],
    ) == (None, [{"code": "UNAUTHENTICATED"}], [None])
