"""One redis-server for the session, emptied and running at the start of every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gateway.redis_link import RedisLink, open_redis
from tests.redis_server import RedisServer, redis_server


@pytest.fixture(scope="session")
def session_redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


@pytest.fixture
def redis(session_redis: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, running and empty; started again after a test that killed it."""
    session_redis.resume()
    if not session_redis.running:
        session_redis.start()
    session_redis.command("FLUSHALL")
    yield session_redis
    session_redis.resume()


@pytest.fixture
async def link(redis: RedisServer) -> AsyncIterator[RedisLink]:
    """A link to the test's Redis, with a timeout loose enough for a busy machine."""
    async with open_redis(redis.url, call_timeout=2.0, backoff=1.0, max_connections=10) as opened:
        yield opened
