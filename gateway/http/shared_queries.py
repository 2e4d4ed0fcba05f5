"""Automatic Persisted Queries shared by replicas through Redis: a query registered on one
process is found by hash on every other.

A query is content-addressed (its key is its own SHA-256), so copies never go out of date:
each process keeps the queries it has seen in its own store and asks Redis only for a hash it
does not know. Key: `P:v1:apq:HASH` (`P` the configured prefix), the query's UTF-8 text, for
`ttl` seconds from its registration or its last fetch by a process that lacked it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from typing import Any, Final

from strawberry.http import GraphQLRequestData

from gateway.http.persisted_queries import (
    PersistedQueries,
    PersistedQueryNotFound,
    checked_size,
    requested_hash,
)
from gateway.observations import CacheResult, Observer
from gateway.redis_link import RedisLink, RedisUnavailable

KEY_VERSION: Final = "v1"


@dataclass
class SharedQueryCounters:
    """Requests by hash since start-up, for /readyz."""

    local: int = 0  # found in this process
    shared: int = 0  # found in Redis
    missing: int = 0  # in neither: the client was asked for the query
    unavailable: int = 0  # not in this process, and Redis could not be asked
    registered: int = 0  # queries sent with their hash, stored in Redis


class SharedPersistedQueries:
    """A `PersistedQueryStore`: `local` first, then Redis through `link` (keys under
    `prefix`, kept `ttl` seconds). When Redis is down or slow, it is `local` alone, and a
    client whose hash is unknown here registers its query again, as the protocol has it."""

    def __init__(
        self,
        local: PersistedQueries,
        link: RedisLink,
        *,
        prefix: str,
        ttl: float,
        observer: Observer | None = None,
    ) -> None:
        self.local = local
        self.link = link
        self.observer = observer
        self.counters = SharedQueryCounters()
        self._base = f"{prefix}:{KEY_VERSION}:apq:"
        self._ttl_ms = max(1, round(ttl * 1000))

    def describe(self) -> dict[str, Any]:
        return {**self.local.describe(), "store": "redis", **asdict(self.counters)}

    async def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        sha256_hash = requested_hash(request, enabled=self.local.max_bytes > 0)
        if sha256_hash is None:
            return request
        if request.query is None:
            query = self.local.get(sha256_hash)
            if query is not None:
                self.counters.local += 1
                self._observe("hit")
            else:
                query = await self._fetch(sha256_hash)
                if query is None:
                    raise PersistedQueryNotFound()
            return dataclasses.replace(request, query=query)
        size = checked_size(request.query, sha256_hash)
        if self.local.get(sha256_hash) is None and size <= self.local.max_bytes:
            self.local.put(sha256_hash, request.query, size)
            await self._register(sha256_hash, request.query)
        return request

    async def _fetch(self, sha256_hash: str) -> str | None:
        key = self._base + sha256_hash
        try:
            text = await self.link.call(lambda client: client.getex(key, px=self._ttl_ms))
        except RedisUnavailable:
            self.counters.unavailable += 1
            self._observe("unavailable")
            return None
        if text is None:
            self.counters.missing += 1
            self._observe("miss")
            return None
        self.counters.shared += 1
        self._observe("hit")
        raw = text.encode() if isinstance(text, str) else text
        query = raw.decode(errors="surrogatepass")
        self.local.put(sha256_hash, query, len(raw))
        return query

    async def _register(self, sha256_hash: str, query: str) -> None:
        key = self._base + sha256_hash
        text = query.encode(errors="surrogatepass")
        try:
            await self.link.call(lambda client: client.set(key, text, px=self._ttl_ms))
        except RedisUnavailable:
            return
        self.counters.registered += 1

    def _observe(self, result: CacheResult) -> None:
        if self.observer is not None:
            self.observer.cache_lookup("persisted_query", result)
