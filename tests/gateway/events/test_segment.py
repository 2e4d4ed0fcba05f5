"""The Segment webhook through the app, recording into the local Personalize."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from emulator import LocalPersonalize
from tests.gateway.conftest import Gateway, OpenGateway

SECRET = "segment-shared-secret"
PATH = "/webhooks/segment"


def new_user() -> str:
    return f"seg-{uuid.uuid4().hex[:12]}"


def track(user: str, event: str, properties: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": event,
        "anonymousId": f"anon-{user}",
        "userId": user,
        "messageId": f"m-{uuid.uuid4().hex[:8]}",
        "timestamp": "2024-05-01T10:00:00.000Z",
        "properties": properties,
        **fields,
    }


def signed(payload: Any, secret: str = SECRET) -> dict[str, Any]:
    """httpx arguments posting `payload` signed the way Segment signs it."""
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"content": body, "headers": {"X-Signature": signature}}


def history(personalize: LocalPersonalize, user: str) -> list[tuple[str, str]]:
    return [(i.event_type, i.item_id) for i in personalize.model.history(user)]


@pytest.fixture
async def gateway(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> AsyncIterator[Gateway]:
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id,
        segment_shared_secret=SECRET,
        segment_event_types={
            "Product Viewed": "view",
            "Product Added": "cart",
            "Order Completed": "purchase",
            "Product Detail": "view",
            "screen": "view",
        },
    ) as opened:
        yield opened


async def post(gateway: Gateway, payload: Any) -> httpx.Response:
    return await gateway.client.post(PATH, **signed(payload))


async def test_segment_product_viewed_is_a_view(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    message = track(user, "Product Viewed", {"product_id": "i-007"})

    response = await post(gateway, message)

    sent = personalize.stats.last_request("PutEvents")
    assert (
        response.status_code,
        history(personalize, user),
        sent["sessionId"],
        sent["eventList"][0]["eventId"],
        sent["eventList"][0]["sentAt"],
    ) == (200, [("view", "i-007")], f"anon-{user}", message["messageId"], 1714557600)


async def test_segment_product_added_takes_the_sku(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()

    await post(gateway, track(user, "Product Added", {"sku": "i-008"}))

    assert history(personalize, user) == [("cart", "i-008")]


async def test_segment_order_completed_is_a_purchase_per_product(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    products = [{"product_id": "i-001"}, {"sku": "i-002"}, {"name": "no id"}]
    message = track(user, "Order Completed", {"order_id": "o-1", "products": products})

    response = await post(gateway, message)

    sent = personalize.stats.last_request("PutEvents")["eventList"]
    assert (
        (response.json()["accepted"], response.json()["ignoredReasons"]),
        history(personalize, user),
        [event["eventId"] for event in sent],
    ) == (
        (2, {"products of track 'Order Completed' without product_id or sku": 1}),
        [("purchase", "i-001"), ("purchase", "i-002")],
        [f"{message['messageId']}-0", f"{message['messageId']}-1"],
    )


async def test_segment_page_is_mapped_by_its_name(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    page = {**track(user, "", {"product_id": "i-010"}), "type": "page", "name": "Product Detail"}

    await post(gateway, page)

    assert history(personalize, user) == [("view", "i-010")]


async def test_segment_screen_is_mapped_by_its_type(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    screen = {**track(user, "", {"sku": "i-011"}), "type": "screen", "name": "Anything"}

    await post(gateway, screen)

    assert history(personalize, user) == [("view", "i-011")]


async def test_segment_batch_ignores_and_counts_what_it_does_not_map(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    batch = {
        "batch": [
            track(user, "Product Viewed", {"product_id": "i-003"}),
            track(user, "Signed Up", {}),
            track(user, "Product Viewed", {"name": "no id"}),
            {"type": "identify", "userId": user, "traits": {}},
        ]
    }

    response = await post(gateway, batch)

    assert (response.status_code, response.json(), history(personalize, user)) == (
        200,
        {
            "accepted": 1,
            "ignored": 3,
            "ignoredReasons": {
                "unmapped track 'Signed Up'": 1,
                "track 'Product Viewed' without product_id or sku": 1,
                "identify message": 1,
            },
            "failed": 0,
            "failures": [],
        },
        [("view", "i-003")],
    )


async def test_segment_batch_of_one_session_takes_one_put_events_call(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    user = new_user()
    messages = [track(user, "Product Viewed", {"product_id": f"i-{n:03d}"}) for n in range(1, 8)]

    await post(gateway, messages)

    assert (personalize.stats.calls("PutEvents"), len(history(personalize, user))) == (1, 7)


async def test_segment_null_anonymous_id_is_a_failure_not_an_event(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    message = track(new_user(), "Product Viewed", {"product_id": "i-001"}, anonymousId="null")

    response = await post(gateway, message)

    body = response.json()
    assert (response.status_code, body["failed"], body["failures"][0]["code"]) == (
        200,
        1,
        "BAD_USER_INPUT",
    )
    assert personalize.stats.calls("PutEvents") == 0


async def test_segment_bad_signature_is_unauthorized(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    message = track(new_user(), "Product Viewed", {"product_id": "i-001"})

    response = await gateway.client.post(PATH, **signed(message, secret="not-the-secret"))

    assert (response.status_code, personalize.stats.calls("PutEvents")) == (401, 0)


async def test_segment_unsigned_request_is_unauthorized(gateway: Gateway) -> None:
    response = await gateway.client.post(PATH, json={"type": "track"})

    assert response.status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {SECRET}",
        "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode(),
        "Basic " + base64.b64encode(f"segment:{SECRET}".encode()).decode(),
    ],
    ids=["bearer", "basic-user", "basic-password"],
)
async def test_segment_shared_secret_in_authorization_is_accepted(
    gateway: Gateway, personalize: LocalPersonalize, authorization: str
) -> None:
    user = new_user()
    message = track(user, "Product Viewed", {"product_id": "i-001"})

    response = await gateway.client.post(
        PATH, json=message, headers={"Authorization": authorization}
    )

    assert (response.status_code, history(personalize, user)) == (200, [("view", "i-001")])


async def test_segment_wrong_bearer_is_unauthorized(gateway: Gateway) -> None:
    response = await gateway.client.post(
        PATH, json={"type": "track"}, headers={"Authorization": f"Bearer {SECRET}x"}
    )

    assert response.status_code == 401


async def test_segment_malformed_json_is_a_bad_request_with_the_reason(gateway: Gateway) -> None:
    response = await gateway.client.post(PATH, **signed_raw(b'{"type": "track",'))

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Malformed JSON: Expecting property name enclosed in double quotes at line 1, "
            "column 18."
        },
    )


async def test_segment_message_that_is_not_an_object_is_a_bad_request(gateway: Gateway) -> None:
    response = await gateway.client.post(PATH, **signed_raw(b'[{"type": "track"}, 3]'))

    assert (response.status_code, response.json()) == (
        400,
        {"error": "Message 1 is int; every message must be a JSON object."},
    )


async def test_segment_upstream_failure_asks_segment_to_retry(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.update({"error_rate": 1.0})

    response = await post(gateway, track(new_user(), "Product Viewed", {"product_id": "i-001"}))

    assert (
        response.status_code,
        response.headers["retry-after"],
        response.json()["failures"][0]["code"],
    ) == (503, "5", "UPSTREAM_UNAVAILABLE")


async def test_segment_route_is_absent_without_a_shared_secret(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway() as gateway:
        response = await gateway.client.post(PATH, json={"type": "track"})

    assert response.status_code == 404


def signed_raw(body: bytes) -> dict[str, Any]:
    signature = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    return {"content": body, "headers": {"X-Signature": signature}}
