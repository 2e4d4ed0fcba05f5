"""The Segment webhook under bodies a careless or hostile sender posts: never a 500, never a
retry storm, never a message recorded twice."""

from __future__ import annotations

import http.client
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from emulator import LocalPersonalize
from gateway.http.app import create_app
from gateway.settings import Settings
from gateway.wiring import LOCAL_CREDENTIALS
from schema.ports import EventBatch, RecordedEvents
from tests.gateway.conftest import Gateway, OpenGateway
from tests.gateway.events.test_segment import (
    PATH,
    SECRET,
    new_user,
    post,
    signed,
    signed_raw,
    track,
)
from tests.servers import serve

EVENT_TYPES = {"Product Viewed": "view"}


@pytest.fixture
async def gateway(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> AsyncIterator[Gateway]:
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id,
        segment_shared_secret=SECRET,
        segment_event_types=EVENT_TYPES,
    ) as opened:
        yield opened


def viewed(timestamp: str) -> dict[str, Any]:
    return track(new_user(), "Product Viewed", {"product_id": "i-001"}, timestamp=timestamp)


@pytest.mark.parametrize(
    "timestamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z"]
)
async def test_segment_unusable_timestamp_is_skipped_and_counted(
    gateway: Gateway, personalize: LocalPersonalize, timestamp: str
) -> None:
    response = await post(gateway, viewed(timestamp))

    assert response.status_code == 200, response.text
    assert response.json()["failed"] == 1, response.json()
    assert response.json()["failures"][0]["code"] == "BAD_USER_INPUT", response.json()
    assert "out of range" in response.json()["failures"][0]["message"], response.json()
    assert personalize.stats.calls("PutEvents") == 0, personalize.stats.snapshot()


async def test_segment_earliest_timestamp_is_recorded(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    response = await post(gateway, viewed("1970-01-01T00:00:00Z"))

    assert response.json()["accepted"] == 1, response.json()


async def test_segment_json_nested_50_000_deep_is_a_bad_request(gateway: Gateway) -> None:
    body = b'{"batch": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"

    response = await gateway.client.post(PATH, **signed_raw(body))

    assert response.status_code == 400, response.text
    assert "nested deeper than 32" in response.json()["error"], response.json()


@pytest.mark.parametrize(("lists", "status"), [(28, 200), (29, 400)])
async def test_segment_json_depth_limit_is_32(gateway: Gateway, lists: int, status: int) -> None:
    message = viewed("2024-05-01T10:00:00Z")
    # {"batch": [{"properties": {"deep": ...}}]} is 4 levels before the lists.
    message["properties"]["deep"] = json.loads("[" * lists + "]" * lists)

    response = await post(gateway, {"batch": [message]})

    assert response.status_code == status, response.text


@pytest.mark.parametrize("number", ["1" * 5000, "1." + "1" * 5000, "1e" + "9" * 100, "NaN"])
async def test_segment_number_too_long_is_a_bad_request(gateway: Gateway, number: str) -> None:
    body = b'{"type": "track", "properties": {"price": ' + number.encode() + b"}}"

    response = await gateway.client.post(PATH, **signed_raw(body))

    assert response.status_code == 400, response.text


async def test_segment_unexpected_error_is_a_json_bad_request(gateway: Gateway) -> None:
    class BrokenSink:
        max_batch = 10

        async def record(self, batch: EventBatch) -> RecordedEvents:
            raise RuntimeError("a bug")

    gateway.state["events"] = BrokenSink()  # type: ignore[typeddict-item]

    response = await post(gateway, viewed("2024-05-01T10:00:00Z"))

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "INTERNAL_SERVER_ERROR", response.json()


async def test_segment_replayed_message_is_recorded_once(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    request = signed(viewed("2024-05-01T10:00:00Z"))

    answers = [await gateway.client.post(PATH, **request) for _ in range(7)]

    assert [answer.status_code for answer in answers] == [200] * 7, answers
    assert personalize.stats.calls("PutEvents") == 1, personalize.stats.snapshot()
    assert answers[-1].json()["ignoredReasons"] == {"replayed messageId": 1}, answers[-1].json()


async def test_segment_message_repeated_in_a_batch_is_recorded_once(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    message = viewed("2024-05-01T10:00:00Z")

    response = await post(gateway, {"batch": [message, message]})

    sent = personalize.stats.last_request("PutEvents")["eventList"]
    assert len(sent) == 1, sent
    assert response.json()["ignored"] == 1, response.json()


async def test_segment_message_that_failed_upstream_is_recorded_on_retry(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    request = signed(viewed("2024-05-01T10:00:00Z"))
    personalize.faults.update({"error_rate": 1.0})
    await gateway.client.post(PATH, **request)
    personalize.faults.update({"error_rate": 0.0})

    response = await gateway.client.post(PATH, **request)

    assert response.json()["accepted"] == 1, response.json()


def test_segment_keep_alive_connection_survives_hostile_bodies(
    settings: Settings, personalize: LocalPersonalize
) -> None:
    app = create_app(
        Settings(
            **settings.model_dump()
            | {
                "event_tracking_id": personalize.config.tracking_id,
                "segment_shared_secret": SECRET,
                "segment_event_types": EVENT_TYPES,
            }
        ),
        credentials=LOCAL_CREDENTIALS,
    )
    bodies = [
        b"[" * 50_000,
        b'{"type": "track", "n": ' + b"1" * 5000 + b"}",
        json.dumps(viewed("0001-01-01T00:00:00+14:00")).encode(),
        json.dumps(viewed("9999-12-31T23:59:59-14:00")).encode(),
    ]
    with serve(app) as base_url:
        address = urlsplit(base_url)
        connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
        statuses = []
        for body in bodies:
            request = signed_raw(body)
            connection.request("POST", PATH, body=request["content"], headers=request["headers"])
            answer = connection.getresponse()
            answer.read()
            statuses.append(answer.status)
        first_socket = connection.sock
        connection.request("GET", "/healthz")
        health = connection.getresponse()
        health.read()
        reused = connection.sock is first_socket
        connection.close()

    assert statuses == [400, 400, 200, 200], statuses
    assert health.status == 200, health.status
    assert reused, "the server closed the keep-alive connection"
