"""Buffered delivery on the local Personalize: each event delivered or counted failed, none lost."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from emulator import LocalPersonalize
from gateway.events.buffer import EventBuffer
from gateway.events.sender import PutEventsSender
from schema.ports import Event, EventBatch, Throttled, Unavailable
from tests.gateway.conftest import Gateway, OpenGateway

RECORD = """
mutation Record($input: RecordEventsInput!) {
  recordEvents(input: $input) { accepted failed delivery }
}
"""


def new_user() -> str:
    return f"buf-{uuid.uuid4().hex[:12]}"


def views(count: int) -> list[dict[str, Any]]:
    return [{"eventType": "view", "itemId": f"i-{n + 1:03d}"} for n in range(count)]


def batch(user: str, count: int) -> EventBatch:
    sent_at = datetime(2024, 5, 1, tzinfo=UTC)
    events = tuple(Event("view", sent_at, item_id=f"i-{n + 1:03d}") for n in range(count))
    return EventBatch(session_id=f"s-{user}", user_id=user, events=events)


async def wait_until(condition: Callable[[], bool]) -> None:
    """Yield to the event loop until `condition` holds (a test fails on a hang, not a clock)."""
    async with asyncio.timeout(30):
        while not condition():  # noqa: ASYNC110 - the buffer's counters have no event to await
            await asyncio.sleep(0.01)


@pytest.fixture
async def gateway(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> AsyncIterator[Gateway]:
    async with open_gateway(event_tracking_id=personalize.config.tracking_id) as opened:
        yield opened


def buffer_on(gateway: Gateway, tracking_id: str, **options: Any) -> EventBuffer:
    """A buffer delivering through the gateway's personalize-events client."""
    sender = PutEventsSender(gateway.state["personalize_events"], tracking_id)
    defaults: dict[str, Any] = {
        "max_batch": 100,
        "capacity": 1000,
        "flush_interval": 60.0,
        "attempts": 3,
        "backoff": 0.001,
        "shutdown_timeout": 30.0,
    }
    return EventBuffer(sender, **defaults | options)


async def test_buffered_gateway_delivers_every_accepted_event_on_shutdown(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    many, few = new_user(), new_user()
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id,
        events_delivery="buffered",
        events_flush_interval=60,
    ) as gateway:
        answers = [
            await gateway.query(
                RECORD, {"input": {"sessionId": user, "userId": user, "events": views(count)}}
            )
            for user, count in ((many, 25), (few, 3))
        ]
        waiting = len(personalize.model.history(few))

    assert (
        [answer["data"]["recordEvents"] for answer in answers],
        waiting,
        [len(personalize.model.history(user)) for user in (many, few)],
        personalize.stats.calls("PutEvents"),
    ) == (
        [
            {"accepted": 25, "failed": 0, "delivery": "BUFFERED"},
            {"accepted": 3, "failed": 0, "delivery": "BUFFERED"},
        ],
        0,
        [25, 3],
        4,
    )


async def test_buffered_gateway_full_buffer_is_an_error_not_a_loss(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    record = {"input": {"sessionId": user, "userId": user, "events": views(5)}}
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id,
        events_delivery="buffered",
        events_flush_interval=60,
        events_buffer_size=5,
    ) as gateway:
        await gateway.query(RECORD, record)
        refused = await gateway.query(RECORD, record)

    assert (
        [(error["message"], error["extensions"]["code"]) for error in refused["errors"]],
        len(personalize.model.history(user)),
    ) == (
        [
            (
                "The gateway's event buffer is full (5 of 5 events waiting for Personalize): "
                "none of these 5 events was recorded; retry later.",
                "UPSTREAM_THROTTLED",
            )
        ],
        5,
    )


async def test_buffer_sends_a_full_run_of_10_without_waiting(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    buffer = buffer_on(gateway, personalize.config.tracking_id)

    async with buffer:
        await buffer.record(batch(user, 12))
        await wait_until(lambda: buffer.counters.delivered == 10)
        delivered_before_close = len(personalize.model.history(user))

    assert (delivered_before_close, len(personalize.model.history(user))) == (10, 12)


async def test_buffer_flushes_a_short_run_after_the_interval(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    buffer = buffer_on(gateway, personalize.config.tracking_id, flush_interval=0.01)

    async with buffer:
        await buffer.record(batch(user, 3))
        await wait_until(lambda: buffer.counters.delivered == 3)

    assert len(personalize.model.history(user)) == 3


async def test_buffer_retries_with_backoff_and_counts_what_fails(
    gateway: Gateway, personalize: LocalPersonalize, caplog: pytest.LogCaptureFixture
) -> None:
    personalize.faults.update({"error_rate": 1.0})
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    buffer = buffer_on(gateway, personalize.config.tracking_id, backoff=0.5, sleep=sleep)

    with caplog.at_level(logging.ERROR, logger="gateway.events.buffer"):
        async with buffer:
            await buffer.record(batch(new_user(), 4))

    assert (
        delays,
        buffer.counters.as_dict(),
        personalize.stats.calls("PutEvents"),
        [record.getMessage().split(" of session")[0] for record in caplog.records][:1],
    ) == (
        [0.5, 1.0],
        {"accepted": 4, "delivered": 0, "failed": 4, "retried": 2, "pending": 0},
        3,
        ["Gave up on 4 events"],
    )


async def test_buffer_retries_carry_the_event_ids_of_the_first_attempt(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.update({"error_rate": 1.0})
    attempts: list[list[str]] = []

    def sent_ids() -> list[str]:
        return [
            event["eventId"] for event in personalize.stats.last_request("PutEvents")["eventList"]
        ]

    async def sleep(seconds: float) -> None:
        attempts.append(sent_ids())
        personalize.faults.update({"error_rate": 0.0})

    user = new_user()
    buffer = buffer_on(gateway, personalize.config.tracking_id, sleep=sleep)
    async with buffer:
        await buffer.record(batch(user, 3))
    attempts.append(sent_ids())

    assert (
        len(attempts),
        attempts[0] == attempts[1],
        len(set(attempts[0])),
        len(personalize.model.history(user)),
    ) == (2, True, 3, 3)


async def test_buffer_does_not_retry_what_cannot_succeed(gateway: Gateway) -> None:
    buffer = buffer_on(gateway, "no-such-tracker")

    async with buffer:
        await buffer.record(batch(new_user(), 2))

    assert buffer.counters.as_dict() == {
        "accepted": 2,
        "delivered": 0,
        "failed": 2,
        "retried": 0,
        "pending": 0,
    }


async def test_buffer_accounts_for_every_event_under_random_failures(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.update({"error_rate": 0.5})
    users = [new_user() for _ in range(6)]
    buffer = buffer_on(gateway, personalize.config.tracking_id, attempts=2)

    async with buffer:
        for user in users:
            await buffer.record(batch(user, 7))

    counters = buffer.counters
    assert (
        counters.delivered + counters.failed,
        sum(len(personalize.model.history(user)) for user in users),
        counters.pending,
    ) == (42, counters.delivered, 0)


async def test_buffer_refuses_a_batch_that_does_not_fit(gateway: Gateway) -> None:
    buffer = buffer_on(gateway, "local-tracking-id", capacity=10)
    await buffer.record(batch(new_user(), 8))

    with pytest.raises(Throttled, match="8 of 10 events waiting"):
        await buffer.record(batch(new_user(), 3))


async def test_buffer_refuses_events_once_closing(gateway: Gateway) -> None:
    buffer = buffer_on(gateway, "local-tracking-id")
    async with buffer:
        pass

    with pytest.raises(Unavailable, match="shutting down"):
        await buffer.record(batch(new_user(), 1))


async def test_buffer_counts_as_failed_what_the_shutdown_timeout_cuts_short(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.update({"error_rate": 1.0})
    buffer = buffer_on(gateway, personalize.config.tracking_id, backoff=30, shutdown_timeout=0.05)

    async with buffer:
        await buffer.record(batch(new_user(), 3))

    assert (buffer.counters.failed, buffer.counters.pending) == (3, 0)
