"""recordEvents through the app, its real personalize-events client and the local Personalize."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator import LocalPersonalize
from gateway.events.sender import PutEventsSender
from schema.ports import Event
from tests.gateway.conftest import Gateway, OpenGateway

RECORD = """
mutation Record($input: RecordEventsInput!) {
  recordEvents(input: $input) { accepted failed failures { index code message } delivery }
}
"""
RECOMMEND_UNPURCHASED = """
query Recommend($user: ID!) {
  recommendations(userId: $user, numResults: 10, filter: {name: "exclude-purchased"}) {
    items { itemId }
  }
}
"""


def new_user() -> str:
    """A user no other test touches: the local Personalize lives for the whole session."""
    return f"ev-{uuid.uuid4().hex[:12]}"


def views(count: int, first_item: int = 1) -> list[dict[str, Any]]:
    return [
        {"eventType": "view", "itemId": f"i-{first_item + n:03d}", "sentAt": "2024-05-01T10:00:00Z"}
        for n in range(count)
    ]


@pytest.fixture
async def gateway(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> AsyncIterator[Gateway]:
    async with open_gateway(event_tracking_id=personalize.config.tracking_id) as opened:
        yield opened


async def test_record_events_splits_25_events_into_3_put_events_calls(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()

    result = await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": user, "events": views(25)}}
    )

    assert (
        result,
        personalize.stats.calls("PutEvents"),
        [interaction.item_id for interaction in personalize.model.history(user)],
    ) == (
        {
            "data": {
                "recordEvents": {"accepted": 25, "failed": 0, "failures": [], "delivery": "SYNC"}
            }
        },
        3,
        [f"i-{n:03d}" for n in range(1, 26)],
    )


async def test_record_events_sends_properties_as_a_json_string(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    event = {**views(1)[0], "properties": {"numberOfRatings": "12"}, "recommendationId": "rid-1"}

    await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": new_user(), "events": [event]}}
    )

    sent = personalize.stats.last_request("PutEvents")["eventList"][0]
    assert (sent["properties"], sent["recommendationId"], sent["sentAt"]) == (
        '{"numberOfRatings":"12"}',
        "rid-1",
        1714557600,
    )


async def test_record_events_sends_an_event_id_for_each_event(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    events = [*views(2), {**views(1, first_item=3)[0], "eventId": "mine-1"}]

    await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": new_user(), "events": events}}
    )

    sent = personalize.stats.last_request("PutEvents")["eventList"]
    ids = [event.get("eventId") or "" for event in sent]
    assert ([bool(re.fullmatch("[0-9a-f]{32}", id_)) for id_ in ids], ids[2], len(set(ids))) == (
        [True, True, False],
        "mine-1",
        3,
    )


async def test_record_events_sent_again_with_the_same_event_ids_is_recorded_once(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    events = [{**event, "eventId": f"e-{n}"} for n, event in enumerate(views(2))]
    record = {"input": {"sessionId": "s-1", "userId": user, "events": events}}
    await gateway.query(RECORD, record)

    await gateway.query(RECORD, record)

    assert [item.item_id for item in personalize.model.history(user)] == ["i-001", "i-002"]


async def test_record_events_refuses_a_null_session_before_any_call(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    result = await gateway.query(RECORD, {"input": {"sessionId": "null", "events": views(1)}})

    assert (
        [error["extensions"]["code"] for error in result["errors"]],
        personalize.stats.calls("PutEvents"),
    ) == (["BAD_USER_INPUT"], 0)


async def test_record_events_over_the_batch_limit_is_refused_before_any_call(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id, events_max_batch=20
    ) as gateway:
        result = await gateway.query(RECORD, {"input": {"sessionId": "s-1", "events": views(21)}})

    assert (
        [error["message"] for error in result["errors"]],
        personalize.stats.calls("PutEvents"),
    ) == (["events must hold 1 to 20 events in one recordEvents call, got 21."], 0)


async def test_record_events_session_alone_records_for_the_session(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    session = new_user()

    await gateway.query(RECORD, {"input": {"sessionId": session, "events": views(2)}})

    assert len(personalize.model.history(session)) == 2


async def test_record_events_without_tracking_id_names_the_setting(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    async with open_gateway() as gateway:
        result = await gateway.query(RECORD, {"input": {"sessionId": "s-1", "events": views(1)}})

    assert (
        [(error["message"], error["extensions"]["code"]) for error in result["errors"]],
        personalize.stats.calls("PutEvents"),
    ) == (
        [
            (
                "recordEvents is not configured on this gateway: it has no Personalize event "
                "tracker (GATEWAY_EVENT_TRACKING_ID is not set).",
                "NOT_FOUND",
            )
        ],
        0,
    )


async def test_record_events_without_tracking_id_in_production_names_no_setting(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(environment="production") as gateway:
        result = await gateway.query(RECORD, {"input": {"sessionId": "s-1", "events": views(1)}})

    assert [(error["message"], error["extensions"]["code"]) for error in result["errors"]] == [
        ("recordEvents is not available on this gateway.", "NOT_FOUND")
    ]


async def test_record_events_unknown_tracking_id_in_production_names_no_setting(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(event_tracking_id="no-such-tracker", environment="production") as gw:
        result = await gw.query(RECORD, {"input": {"sessionId": "s-1", "events": views(1)}})

    assert [(error["message"], error["extensions"]["code"]) for error in result["errors"]] == [
        ("recordEvents is not available on this gateway.", "NOT_FOUND")
    ]


async def test_record_events_unknown_tracking_id_is_not_found(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(event_tracking_id="no-such-tracker") as gateway:
        result = await gateway.query(RECORD, {"input": {"sessionId": "s-1", "events": views(1)}})

    assert [error["extensions"]["code"] for error in result["errors"]] == ["NOT_FOUND"]


async def test_record_events_all_calls_failing_is_an_upstream_error(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.update({"error_rate": 1.0})
    user = new_user()

    result = await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": user, "events": views(12)}}
    )

    assert (
        [error["extensions"]["code"] for error in result["errors"]],
        personalize.model.history(user),
    ) == (["UPSTREAM_UNAVAILABLE"], ())


async def test_record_events_purchase_disappears_from_unpurchased_recommendations(
    gateway: Gateway,
) -> None:
    user = new_user()
    before = await gateway.query(RECOMMEND_UNPURCHASED, {"user": user})
    bought = before["data"]["recommendations"]["items"][0]["itemId"]
    purchase = {"eventType": "purchase", "itemId": bought}

    await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": user, "events": [purchase]}}
    )
    after = await gateway.query(RECOMMEND_UNPURCHASED, {"user": user})

    assert bought not in [item["itemId"] for item in after["data"]["recommendations"]["items"]]


class RecordingCache:
    """Stands for a cache of answers per user: remembers which users it was told to forget."""

    def __init__(self) -> None:
        self.invalidated: list[str] = []

    async def invalidate_user(self, user_id: str) -> None:
        self.invalidated.append(user_id)


async def test_sender_has_caches_forget_the_user_and_session_once_delivered(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    cache = RecordingCache()
    sender = PutEventsSender(
        gateway.state["personalize_events"], personalize.config.tracking_id, caches=[cache]
    )
    event = Event(event_type="view", sent_at=datetime(2024, 5, 1, tzinfo=UTC), item_id="i-001")

    await sender.put("s-9", "u-9", [event])

    assert sorted(cache.invalidated) == ["s-9", "u-9"]


async def test_readyz_counts_events(gateway: Gateway) -> None:
    await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": new_user(), "events": views(3)}}
    )

    response = await gateway.client.get("/readyz")

    assert json.loads(response.text)["details"]["events"] == {
        "delivery": "sync",
        "accepted": 3,
        "delivered": 3,
        "failed": 0,
        "retried": 0,
        "pending": 0,
    }


async def test_record_events_purchase_is_filtered_out_of_a_ranking(gateway: Gateway) -> None:
    user = new_user()
    query = """
    query Rank($user: ID!) {
      ranking(userId: $user, items: ["i-001", "i-002"], filter: {name: "exclude-purchased"}) {
        items { itemId }
      }
    }
    """
    purchase = {"eventType": "purchase", "itemId": "i-001"}

    before = await gateway.query(query, {"user": user})
    await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": user, "events": [purchase]}}
    )
    after = await gateway.query(query, {"user": user})

    assert [
        sorted(item["itemId"] for item in result["data"]["ranking"]["items"])
        for result in (before, after)
    ] == [["i-001", "i-002"], ["i-002"]]


@pytest.mark.parametrize(
    ("sent_at", "index"),
    [
        ("0001-01-01T00:00:00+14:00", 1),
        ("9999-12-31T23:59:59-14:00", 1),
        ("1969-12-31T23:59:59Z", 0),
    ],
)
async def test_record_events_out_of_range_sent_at_names_the_event(
    gateway: Gateway, personalize: LocalPersonalize, sent_at: str, index: int
) -> None:
    events = views(2)
    events[index]["sentAt"] = sent_at

    result = await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": new_user(), "events": events}}
    )

    error = result["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["message"].startswith(f"events[{index}].sentAt "), error
    assert personalize.stats.calls("PutEvents") == 0, personalize.stats.snapshot()


async def test_record_events_at_the_epoch_is_recorded(gateway: Gateway) -> None:
    events = views(1)
    events[0]["sentAt"] = "1970-01-01T00:00:00Z"

    result = await gateway.query(
        RECORD, {"input": {"sessionId": "s-1", "userId": new_user(), "events": events}}
    )

    assert result["data"]["recordEvents"]["accepted"] == 1, result


async def test_record_events_sync_gives_up_at_the_upstream_deadline(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    # Without the deadline the call would succeed: the answer comes well within read_timeout.
    personalize.faults.update({"latency_ms": 1500})
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id, upstream_deadline=0.2, read_timeout=10.0
    ) as gateway:
        result = await gateway.query(
            RECORD, {"input": {"sessionId": "s-1", "userId": new_user(), "events": views(1)}}
        )

    error = result["errors"][0]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE", error
    assert "within 0.2 s" in error["message"], error
