"""Personalize answers in Redis: keys, values, expiry and per-user invalidation."""

from __future__ import annotations

import pytest

from gateway.personalize.redis_answers import RedisAnswerStore, decode, encode
from gateway.redis_link import RedisLink
from schema.ports import CatalogItem, Recommendation, Recommendations, RecommendationSource
from tests.redis_server import RedisServer

KEY = bytes(range(20))


def answer(*item_ids: str) -> Recommendations:
    return Recommendations("rid-1", tuple(Recommendation(item, 0.25) for item in item_ids))


@pytest.fixture
def store(link: RedisLink) -> RedisAnswerStore:
    return RedisAnswerStore(link, name="response", prefix="test", max_age=60)


def test_encode_then_decode_gives_the_answer_back_with_every_detail() -> None:
    detailed = Recommendations(
        None,
        (
            Recommendation("i-1", None, "promo", ("r1", "r2")),
            Recommendation(
                "i-2", 0.5, details=CatalogItem("i-2", "Hat", None, "/h.svg", 9.5, "hats", {"a": 1})
            ),
            Recommendation("i-3", 0.125),
        ),
        RecommendationSource.FALLBACK,
    )

    assert decode(encode(detailed)) == detailed


def test_encode_is_compact_for_plain_answers() -> None:
    assert encode(answer("i-1", "i-2")) == b'["rid-1","PERSONALIZE",[["i-1",0.25],["i-2",0.25]]]'


async def test_store_gives_back_what_was_put(store: RedisAnswerStore) -> None:
    await store.put(KEY, answer("i-1"), user_id="u-1")

    found = await store.get(KEY, user_id="u-1")

    assert found.answer == answer("i-1"), found


async def test_store_has_nothing_for_another_user(store: RedisAnswerStore) -> None:
    await store.put(KEY, answer("i-1"), user_id="u-1")

    found = await store.get(KEY, user_id="u-2")

    assert found.answer is None, found


async def test_store_sets_the_max_age_as_the_keys_ttl_in_redis(
    store: RedisAnswerStore, redis: RedisServer
) -> None:
    await store.put(KEY, answer("i-1"), user_id="u-1")
    key = redis.command("KEYS", "test:v1:response:*").split(b"\r\n")[2].decode()

    ttl = int(redis.command("PTTL", key)[1:].strip())

    assert 59_000 < ttl <= 60_000, ttl


async def test_store_keys_are_namespaced_versioned_and_name_no_user(
    store: RedisAnswerStore, redis: RedisServer
) -> None:
    await store.put(KEY, answer("i-1"), user_id="user-with-a-name")

    keys = redis.command("KEYS", "*").decode()

    assert "test:v1:response:{" in keys, keys
    assert "user-with-a-name" not in keys, keys


async def test_store_invalidate_user_drops_their_answers(store: RedisAnswerStore) -> None:
    await store.put(KEY, answer("i-1"), user_id="u-1")
    await store.put(bytes(20), answer("i-2"), user_id="u-1")

    await store.invalidate_user("u-1")

    found = [(await store.get(key, user_id="u-1")).answer for key in (KEY, bytes(20))]
    assert found == [None, None], found


async def test_store_invalidate_user_leaves_other_users_answers(store: RedisAnswerStore) -> None:
    await store.put(KEY, answer("i-2"), user_id="u-2")

    await store.invalidate_user("u-1")

    assert (await store.get(KEY, user_id="u-2")).answer == answer("i-2")


async def test_store_keeps_no_answer_asked_for_before_the_users_last_event(
    store: RedisAnswerStore,
) -> None:
    before = await store.get(KEY, user_id="u-1")
    await store.invalidate_user("u-1")  # on another replica, while the call was in flight

    await store.put(KEY, answer("i-1"), user_id="u-1", generation=before.generation)

    assert (await store.get(KEY, user_id="u-1")).answer is None


async def test_store_keeps_answers_of_requests_without_a_user(store: RedisAnswerStore) -> None:
    await store.put(KEY, answer("i-1"))

    assert (await store.get(KEY)).answer == answer("i-1")


async def test_store_is_unavailable_not_failing_when_redis_is_gone(
    store: RedisAnswerStore, redis: RedisServer
) -> None:
    redis.kill()

    await store.put(KEY, answer("i-1"), user_id="u-1")
    found = await store.get(KEY, user_id="u-1")

    assert found.unavailable is True, found
