"""Two gateways ("replicas") sharing one real Redis, on the local Personalize: what one keeps,
the other finds; an event recorded on one reaches both; a Redis gone or stuck fails nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from emulator import LocalPersonalize
from gateway.http.persisted_queries import hash_query
from tests.gateway.conftest import Gateway, OpenGateway
from tests.gateway.test_metrics import sample
from tests.redis_server import RedisServer

RECOMMEND = """
query Recommend($user: ID!) {
  recommendations(userId: $user, numResults: 5) { source items { itemId } }
}
"""
RECORD = """
mutation Record($input: RecordEventsInput!) { recordEvents(input: $input) { accepted } }
"""
GUARD = 30.0  # seconds: a test that hangs fails instead


def new_user() -> str:
    return f"r-{uuid.uuid4().hex[:12]}"


async def personalize_calls(personalize: LocalPersonalize) -> int:
    """GetRecommendations calls so far, as the local Personalize's own stats endpoint says."""
    async with httpx.AsyncClient(base_url=personalize.endpoint_url) as client:
        stats = (await client.get("/_emulator/stats")).json()
    return int(stats["calls"].get("GetRecommendations", 0))


async def details(gateway: Gateway) -> Any:
    return (await gateway.client.get("/readyz")).json()["details"]


async def calls_started(personalize: LocalPersonalize) -> bool:
    return await personalize_calls(personalize) > 0


async def redis_up(gateway: Gateway) -> bool:
    return bool((await details(gateway))["redis"]["state"] == "up")


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll `check` until it is true; fails the test after GUARD seconds."""
    async with asyncio.timeout(GUARD):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


@asynccontextmanager
async def replicas(open_gateway: OpenGateway, **changes: Any) -> AsyncIterator[list[Gateway]]:
    """Two gateways of the same settings, as two processes behind a load balancer."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(open_gateway(**changes)) for _ in range(2)]


async def test_answer_cached_by_one_replica_is_a_hit_on_the_other(
    open_gateway: OpenGateway, personalize: LocalPersonalize, redis: RedisServer
) -> None:
    user = new_user()
    async with replicas(open_gateway, redis_url=redis.url, response_cache_ttl=60) as (a, b):
        first = await a.query(RECOMMEND, {"user": user})
        second = await b.query(RECOMMEND, {"user": user})
        shown = await details(b)

    assert second == first, second
    assert await personalize_calls(personalize) == 1, await personalize_calls(personalize)
    assert shown["response_cache"]["hits"] == 1, shown["response_cache"]


async def test_persisted_query_registered_on_one_replica_works_on_the_other(
    open_gateway: OpenGateway, redis: RedisServer
) -> None:
    query = "query Title($id: ID!) { item(id: $id) { title } }"
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": hash_query(query)}}
    async with replicas(open_gateway, redis_url=redis.url) as (a, b):
        await a.client.post(
            "/graphql",
            json={"query": query, "variables": {"id": "i-001"}, "extensions": extensions},
        )
        response = await b.client.post(
            "/graphql", json={"variables": {"id": "i-001"}, "extensions": extensions}
        )

    assert response.json() == {"data": {"item": {"title": "Blue Sun Hat No. 1"}}}, response.text


async def test_stale_answer_kept_by_one_replica_stands_in_on_the_other(
    open_gateway: OpenGateway, personalize: LocalPersonalize, redis: RedisServer
) -> None:
    user = new_user()
    async with replicas(open_gateway, redis_url=redis.url) as (a, b):
        fresh = await a.query(RECOMMEND, {"user": user})
        personalize.faults.error_rate = 1.0
        stood_in = await b.query(RECOMMEND, {"user": user})

    answer = stood_in["data"]["recommendations"]
    assert answer["source"] == "FALLBACK", stood_in
    assert answer["items"] == fresh["data"]["recommendations"]["items"], stood_in


async def test_events_recorded_on_one_replica_drop_the_users_answers_on_both(
    open_gateway: OpenGateway, personalize: LocalPersonalize, redis: RedisServer
) -> None:
    user = new_user()
    event = {"eventType": "view", "itemId": "i-001", "sentAt": "2024-05-01T10:00:00Z"}
    record = {"input": {"sessionId": "s-1", "userId": user, "events": [event]}}
    async with replicas(
        open_gateway,
        redis_url=redis.url,
        response_cache_ttl=60,
        event_tracking_id=personalize.config.tracking_id,
    ) as (a, b):
        await a.query(RECOMMEND, {"user": user})
        await b.query(RECOMMEND, {"user": user})  # a hit: one call so far
        recorded = await a.query(RECORD, record)
        await b.query(RECOMMEND, {"user": user})  # asks Personalize again
        await a.query(RECOMMEND, {"user": user})  # the new answer, kept by b

    assert recorded["data"]["recordEvents"]["accepted"] == 1, recorded
    assert await personalize_calls(personalize) == 2, await personalize_calls(personalize)


async def test_redis_killed_mid_load_fails_no_request_and_is_used_again_once_back(
    open_gateway: OpenGateway, personalize: LocalPersonalize, redis: RedisServer
) -> None:
    personalize.faults.latency_ms = 20  # requests are in flight when Redis goes
    users = [new_user() for _ in range(10)]
    async with open_gateway(
        redis_url=redis.url, response_cache_ttl=60, redis_timeout=1.0, redis_backoff=0.2
    ) as gateway:

        async def load() -> list[httpx.Response]:
            requests = [
                gateway.client.post(
                    "/graphql", json={"query": RECOMMEND, "variables": {"user": user}}
                )
                for _ in range(6)
                for user in users
            ]
            return list(await asyncio.gather(*requests))

        async def kill_once_calls_are_in_flight() -> None:
            await eventually(lambda: calls_started(personalize))
            redis.kill()

        async with asyncio.timeout(GUARD):
            responses, _ = await asyncio.gather(load(), kill_once_calls_are_in_flight())
        while_down = (await details(gateway))["redis"]

        redis.start()
        await eventually(lambda: redis_up(gateway))  # /readyz tries Redis after the back-off
        personalize.faults.latency_ms = 0
        user = new_user()
        before = await personalize_calls(personalize)
        await gateway.query(RECOMMEND, {"user": user})
        again = await gateway.query(RECOMMEND, {"user": user})
        after = await personalize_calls(personalize)

    statuses = {response.status_code for response in responses}
    assert statuses == {200}, statuses
    failed = [r.json() for r in responses if "errors" in r.json() or not r.json().get("data")]
    assert failed == [], failed[:3]
    assert while_down["failures"] >= 1, while_down
    assert again["data"]["recommendations"]["items"], again
    assert after - before == 1, (before, after)


async def test_redis_that_stops_answering_costs_each_request_one_timeout_at_most(
    open_gateway: OpenGateway, redis: RedisServer
) -> None:
    async with open_gateway(
        redis_url=redis.url, response_cache_ttl=60, redis_timeout=0.1, redis_backoff=60
    ) as gateway:
        await gateway.query(RECOMMEND, {"user": new_user()})  # the pool holds a connection
        redis.pause()
        try:
            async with asyncio.timeout(GUARD):
                first = await asyncio.gather(
                    *(gateway.query(RECOMMEND, {"user": new_user()}) for _ in range(5))
                )
                after_first = (await details(gateway))["redis"]
                second = await asyncio.gather(
                    *(gateway.query(RECOMMEND, {"user": new_user()}) for _ in range(5))
                )
                after_second = (await details(gateway))["redis"]
        finally:
            redis.resume()

    answered = [result["data"]["recommendations"]["source"] for result in first + second]
    assert answered == ["PERSONALIZE"] * 10, answered
    assert 1 <= after_first["timeouts"] <= 5, after_first
    assert after_second["timeouts"] == after_first["timeouts"], after_second
    assert after_second["skipped"] > after_first["skipped"], after_second


async def test_lookups_redis_could_not_answer_are_counted_in_the_metrics(
    open_gateway: OpenGateway, redis: RedisServer
) -> None:
    async with open_gateway(
        redis_url=redis.url, response_cache_ttl=60, redis_backoff=60, metrics=True
    ) as gateway:
        redis.kill()
        await gateway.query(RECOMMEND, {"user": new_user()})
        await gateway.query(RECOMMEND, {"user": new_user()})
        scrape = (await gateway.client.get("/metrics")).text

    unavailable = sample(
        scrape, "gateway_cache_lookups_total", cache="response", result="unavailable"
    )
    assert unavailable == 2.0, unavailable
