"""Identical requests sharing Personalize calls, and the response cache, through the app."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from emulator import LocalPersonalize
from gateway.personalize import fallback
from gateway.personalize.breaker import CircuitBreaker
from gateway.personalize.fallback import FallbackRecommender
from gateway.personalize.shared import SharedRecommender
from gateway.personalize.stale import StaleStore, request_key
from schema.ports import Recommendations
from tests.gateway.conftest import Gateway, OpenGateway
from tests.schema.fakes import FakeRecommender

RECOMMEND = """
query Recommend($user: ID!) {
  recommendations(userId: $user, numResults: 10) { items { itemId item { title } } }
}
"""
RECORD = """
mutation Record($input: RecordEventsInput!) { recordEvents(input: $input) { accepted } }
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class DescribedFake(FakeRecommender):
    def describe(self) -> dict[str, Any]:
        return {}

    async def invalidate_user(self, user_id: str) -> None:
        pass


async def recommend(recommender: SharedRecommender, user_id: str) -> Recommendations:
    return await recommender.recommend(
        user_id=user_id, num_results=5, filter=None, personalize_context={}, promotion=None
    )


async def test_shared_100_identical_concurrent_requests_make_1_personalize_call(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.latency_ms = 500  # all of them arrive while the first is in flight

    results = await asyncio.gather(
        *(gateway.query(RECOMMEND, {"user": "u-04"}) for _ in range(100))
    )

    assert all(result == results[0] for result in results), results[0]
    assert personalize.stats.calls("GetRecommendations") == 1, personalize.stats.calls(
        "GetRecommendations"
    )


async def test_shared_requests_of_different_users_make_a_call_each(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.latency_ms = 50
    users = ["u-05", "u-06", "u-07"]

    await asyncio.gather(*(gateway.query(RECOMMEND, {"user": user}) for user in users))

    assert personalize.stats.calls("GetRecommendations") == 3, personalize.stats.calls(
        "GetRecommendations"
    )


async def test_shared_calls_show_in_readyz(gateway: Gateway, personalize: LocalPersonalize) -> None:
    personalize.faults.latency_ms = 50
    await asyncio.gather(*(gateway.query(RECOMMEND, {"user": "u-08"}) for _ in range(5)))

    details = (await gateway.client.get("/readyz")).json()["details"]

    assert details["response_cache"]["coalesced"] == 4, details


async def test_response_cache_answers_a_repeat_without_personalize(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    async with open_gateway(response_cache_ttl=60) as gateway:
        first = await gateway.query(RECOMMEND, {"user": "u-09"})
        second = await gateway.query(RECOMMEND, {"user": "u-09"})
        details = (await gateway.client.get("/readyz")).json()["details"]

    assert second == first, second
    assert personalize.stats.calls("GetRecommendations") == 1, personalize.stats.calls(
        "GetRecommendations"
    )
    assert (details["response_cache"]["hits"], details["response_cache"]["misses"]) == (1, 1)


async def test_response_cache_is_off_by_default(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    await gateway.query(RECOMMEND, {"user": "u-10"})
    await gateway.query(RECOMMEND, {"user": "u-10"})

    assert personalize.stats.calls("GetRecommendations") == 2, personalize.stats.calls(
        "GetRecommendations"
    )


async def test_response_cache_drops_a_users_answers_when_their_events_are_recorded(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    user = f"rc-{uuid.uuid4().hex[:12]}"
    event = {"eventType": "view", "itemId": "i-001", "sentAt": "2024-05-01T10:00:00Z"}
    async with open_gateway(
        response_cache_ttl=60, event_tracking_id=personalize.config.tracking_id
    ) as gateway:
        await gateway.query(RECOMMEND, {"user": user})
        recorded = await gateway.query(
            RECORD, {"input": {"sessionId": "s-1", "userId": user, "events": [event]}}
        )
        await gateway.query(RECOMMEND, {"user": user})

    assert recorded["data"]["recordEvents"]["accepted"] == 1, recorded
    assert personalize.stats.calls("GetRecommendations") == 2, personalize.stats.calls(
        "GetRecommendations"
    )


async def test_response_cache_entry_expires_after_its_ttl() -> None:
    fake = DescribedFake(item_ids=["i1", "i2"])
    clock = Clock()
    shared = SharedRecommender(fake, cache=StaleStore(max_entries=10, max_age=30, clock=clock))
    await recommend(shared, "u1")
    clock.now += 31

    await recommend(shared, "u1")

    assert len(fake.calls) == 2, fake.calls


async def test_response_cache_keeps_no_answer_invalidated_while_in_flight() -> None:
    fake = DescribedFake(item_ids=["i1", "i2"], pauses={"recommend": 2})
    shared = SharedRecommender(fake, cache=StaleStore(max_entries=10, max_age=30))
    pending = asyncio.ensure_future(recommend(shared, "u1"))
    await asyncio.sleep(0)
    await shared.invalidate_user("u1")
    await pending

    await recommend(shared, "u1")

    assert len(fake.calls) == 2, fake.calls


async def test_the_fallback_layer_keeps_answers_under_the_key_the_shared_layer_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stale = StaleStore(max_entries=10, max_age=30)
    layered = FallbackRecommender(
        FakeRecommender(item_ids=["i1", "i2"]),
        stale=stale,
        breaker=CircuitBreaker(failure_threshold=5, cool_down=30),
    )
    digests: list[str] = []

    def counted(operation: str, **parameters: Any) -> bytes:
        digests.append(operation)
        return request_key(operation, **parameters)

    monkeypatch.setattr(fallback, "request_key", counted)
    shared = SharedRecommender(layered, cache=None)

    await recommend(shared, "u1")

    assert digests == [], digests
    key = request_key(
        "recommend",
        user_id="u1",
        num_results=5,
        filter=None,
        personalize_context={},
        promotion=None,
    )
    found = await stale.get(key, user_id="u1")
    assert found.answer is not None, found
