"""The Redis link: a bounded call, a pause after a failure, and one probe when it is over."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from gateway.redis_link import RedisLink, RedisUnavailable, open_redis, redacted
from tests.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def ping(client: Redis) -> bool:
    return bool(await client.ping())


async def test_link_answers_while_redis_is_up(link: RedisLink) -> None:
    assert await link.call(ping) is True
    assert link.describe()["state"] == "up", link.describe()


async def test_link_counts_a_failure_when_redis_is_gone(redis: RedisServer) -> None:
    async with open_redis(redis.url, call_timeout=1.0, backoff=5, max_connections=2) as link:
        redis.kill()

        with pytest.raises(RedisUnavailable):
            await link.call(ping)

    assert link.counters.failures == 1, link.counters
    assert link.state == "down", link.state


async def test_link_skips_redis_during_the_pause_after_a_failure(redis: RedisServer) -> None:
    async with open_redis(redis.url, call_timeout=1.0, backoff=5, max_connections=2) as opened:
        link = RedisLink(opened.client, timeout=1.0, backoff=5, clock=Clock())
        redis.kill()
        with pytest.raises(RedisUnavailable):
            await link.call(ping)

        for _ in range(3):
            with pytest.raises(RedisUnavailable):
                await link.call(ping)

    assert link.counters.skipped == 3, link.counters
    assert link.counters.calls == 1, link.counters


async def test_link_tries_again_after_the_pause_and_is_up_once_redis_answers(
    redis: RedisServer,
) -> None:
    clock = Clock()
    async with open_redis(redis.url, call_timeout=1.0, backoff=5, max_connections=2) as opened:
        link = RedisLink(opened.client, timeout=1.0, backoff=5, clock=clock)
        redis.kill()
        with pytest.raises(RedisUnavailable):
            await link.call(ping)
        redis.start()
        clock.now += 5

        answered = await link.call(ping)

    assert answered is True
    assert link.state == "up", link.describe()


async def test_link_gives_up_on_a_redis_that_does_not_answer_within_its_timeout(
    redis: RedisServer,
) -> None:
    async with open_redis(redis.url, call_timeout=0.1, backoff=5, max_connections=2) as link:
        await link.call(ping)  # a connection is open: the pause below leaves it hanging
        redis.pause()
        try:
            with pytest.raises(RedisUnavailable, match=r"no answer within 0\.1 s"):
                await link.call(ping)
        finally:
            redis.resume()

    assert link.counters.timeouts == 1, link.counters


async def test_link_ping_is_false_without_raising_when_redis_is_gone(redis: RedisServer) -> None:
    async with open_redis(redis.url, call_timeout=1.0, backoff=5, max_connections=2) as link:
        redis.kill()

        assert await link.ping() is False


def test_redacted_hides_the_password_of_a_url() -> None:
    assert redacted("redis://user:s3cret@cache:6379/0") == "redis://user:***@cache:6379/0"


def test_redacted_leaves_a_url_without_password_alone() -> None:
    assert redacted("redis://cache:6379/0") == "redis://cache:6379/0"
