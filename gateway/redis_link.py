"""The gateway's one Redis server: a pool for the app's life, a short timeout on every call,
and a pause after a failure, so that a Redis down or slow costs requests nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

T = TypeVar("T")
LinkState = Literal["up", "down"]


class RedisUnavailable(Exception):
    """Redis was not asked (it failed moments ago) or did not answer in time; the caller
    carries on without it."""


@dataclass
class RedisCounters:
    """Calls to Redis since start-up, for /readyz."""

    calls: int = 0  # sent to Redis
    failures: int = 0  # errors and timeouts among them
    timeouts: int = 0  # of the failures, those past the timeout
    skipped: int = 0  # not sent: Redis had failed and its pause was not over


class RedisLink:
    """Calls to one Redis server, each bounded by `timeout` seconds, through `client`'s pool.

    A call that fails or times out marks Redis down for `backoff` seconds: meanwhile calls
    raise `RedisUnavailable` at once, without touching the network. When the pause is over one
    call goes through as a probe (the others are still skipped); its success marks Redis up
    again, its failure starts another pause. `clock` is for tests.
    """

    def __init__(
        self,
        client: Redis,
        *,
        timeout: float,
        backoff: float,
        name: str = "redis",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.backoff = backoff
        self.name = name
        self.counters = RedisCounters()
        self.last_error: str | None = None
        self._clock = clock
        self._down_until: float | None = None  # None: up
        self._probing = False

    @property
    def state(self) -> LinkState:
        return "up" if self._down_until is None else "down"

    async def call(self, command: Callable[[Redis], Awaitable[T]]) -> T:
        """`command(client)`'s result; RedisUnavailable if Redis is paused, fails or is slow."""
        probe = False
        if self._down_until is not None:
            if self._probing or self._clock() < self._down_until:
                self.counters.skipped += 1
                raise RedisUnavailable(f"Redis failed; not asked again for {self.backoff:g} s")
            probe = self._probing = True
        self.counters.calls += 1
        try:
            async with asyncio.timeout(self.timeout):
                result = await command(self.client)
        except (RedisError, OSError, TimeoutError) as error:
            self._failed(error)
            raise RedisUnavailable(self.last_error) from error
        finally:
            if probe:
                self._probing = False
        if self._down_until is not None:
            logger.info("%s answers again", self.name)
            self._down_until = None
        return result

    def describe(self) -> dict[str, Any]:
        """The state and the counters, for /readyz."""
        return {
            "server": self.name,
            "state": self.state,
            **asdict(self.counters),
            "last_error": self.last_error,
        }

    async def ping(self) -> bool:
        """Whether Redis answers a PING now (a paused link is not asked)."""
        try:
            return bool(await self.call(lambda client: client.ping()))
        except RedisUnavailable:
            return False

    def _failed(self, error: BaseException) -> None:
        self.counters.failures += 1
        if isinstance(error, TimeoutError):
            self.counters.timeouts += 1
            self.last_error = f"no answer within {self.timeout:g} s"
        else:
            self.last_error = f"{type(error).__name__}: {error}"
        if self._down_until is None:
            logger.warning(
                "%s failed (%s); going on without it, trying again in %g s",
                self.name,
                self.last_error,
                self.backoff,
            )
        self._down_until = self._clock() + self.backoff


@contextlib.asynccontextmanager
async def open_redis(
    url: str, *, call_timeout: float, backoff: float, max_connections: int
) -> AsyncIterator[RedisLink]:
    """A link to the Redis at `url` for the app's life, each call bounded by `call_timeout`
    seconds: connections are made when first needed, so a Redis down at start only shows in
    /readyz; all closed on exit."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=call_timeout,  # waiting for a free connection counts against the same bound
        socket_timeout=call_timeout,
        socket_connect_timeout=call_timeout,
        # A failed call is not tried again: the caller goes on without Redis at once.
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    client = Redis(connection_pool=pool)
    try:
        yield RedisLink(client, timeout=call_timeout, backoff=backoff, name=redacted(url))
    finally:
        await client.aclose()
        await pool.aclose()


def redacted(url: str) -> str:
    """`url` without its password, to name the server in logs and /readyz."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + netloc).geturl()
