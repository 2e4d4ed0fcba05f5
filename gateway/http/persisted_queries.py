"""Automatic Persisted Queries, in Apollo's protocol: a query sent once, then by its hash alone.

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the query; if
the hash is unknown here the answer is the error `PersistedQueryNotFound` (HTTP 200, as Apollo
Server answers), and the client sends the query and its hash again, which registers it. Hashed
requests are short enough for GET, so HTTP caches can keep their answers (gateway/http_cache.py).
Each process keeps its own store, bounded in bytes (`PersistedQueries`); with Redis, replicas
share theirs as well (`SharedPersistedQueries`, gateway/http/shared_queries.py). A client that
meets a process that has not seen its query (or has dropped it) simply registers it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, ClassVar, Final, Protocol

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from schema.errors import BAD_REQUEST
from schema.errors import PERSISTED_QUERY_NOT_FOUND as PERSISTED_QUERY_NOT_FOUND
from schema.errors import PERSISTED_QUERY_NOT_SUPPORTED as PERSISTED_QUERY_NOT_SUPPORTED

SUPPORTED_VERSION: Final = 1
SHA256_HEX = re.compile(r"[0-9a-f]{64}")

# Apollo Server's header on the two "send me the query" answers: they must never be cached,
# or the client would be told "not found" again after registering.
NOT_FOUND_CACHE_CONTROL: Final = "private, no-cache, must-revalidate"


class PersistedQueryError(GraphQLError):
    """A persisted-query request that cannot run; the client sees it as a GraphQL error."""

    code: ClassVar[str]
    status_code: ClassVar[int]
    cache_control: ClassVar[str] = "no-store"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})

    def as_result(self) -> ExecutionResult:
        """The error as the whole result of the operation."""
        return ExecutionResult(data=None, errors=[self])


class PersistedQueryNotFound(PersistedQueryError):
    """The hash is not in the store: the client is to send the query with it."""

    code = PERSISTED_QUERY_NOT_FOUND
    status_code = 200
    cache_control = NOT_FOUND_CACHE_CONTROL

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryNotSupported(PersistedQueryError):
    """Persisted queries are turned off: the client is to send queries in full."""

    code = PERSISTED_QUERY_NOT_SUPPORTED
    status_code = 200
    cache_control = NOT_FOUND_CACHE_CONTROL

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotSupported")


class PersistedQueryRefused(PersistedQueryError):
    """A malformed persisted-query extension, or a hash that is not the query's."""

    code = BAD_REQUEST
    status_code = 400


class PersistedQueryStore(Protocol):
    """Where the view finds the query of a request sent by hash: this process's store, or one
    shared by replicas."""

    async def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its query: as sent (registered when it comes with its hash), or
        the one stored for its hash. Raises a `PersistedQueryError` when it cannot have one."""
        ...

    def describe(self) -> dict[str, Any]:
        """What /readyz shows of the store."""
        ...


class PersistedQueries:
    """Query texts by SHA-256 hash, in this process, the least recently used dropped once their
    UTF-8 text takes more than `max_bytes` in all (a query larger than that alone runs, but is
    not kept).

    `max_bytes=0` turns persisted queries off: requests using them get
    `PersistedQueryNotSupported`, and clients fall back to sending queries in full.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0  # bytes of the stored queries' text
        self._queries: OrderedDict[str, tuple[str, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._queries)

    def __contains__(self, sha256_hash: object) -> bool:
        return sha256_hash in self._queries

    def describe(self) -> dict[str, Any]:
        return {"entries": len(self._queries), "bytes": self.size}

    async def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        sha256_hash = requested_hash(request, enabled=self.max_bytes > 0)
        if sha256_hash is None:
            return request
        if request.query is None:
            query = self.get(sha256_hash)
            if query is None:
                raise PersistedQueryNotFound()
            return dataclasses.replace(request, query=query)
        self.put(sha256_hash, request.query, checked_size(request.query, sha256_hash))
        return request

    def get(self, sha256_hash: str) -> str | None:
        """The query stored for `sha256_hash`, now the most recently used; None if none is."""
        stored = self._queries.get(sha256_hash)
        if stored is None:
            return None
        self._queries.move_to_end(sha256_hash)
        return stored[0]

    def put(self, sha256_hash: str, query: str, size: int) -> None:
        """Keep `query` (of `size` bytes) for its hash, if it fits."""
        if sha256_hash in self._queries:
            self._queries.move_to_end(sha256_hash)
            return
        if size > self.max_bytes:
            return
        self._queries[sha256_hash] = (query, size)
        self.size += size
        while self.size > self.max_bytes:
            _, (_, dropped) = self._queries.popitem(last=False)
            self.size -= dropped


def hash_query(query: str) -> str:
    """The hash clients send for `query`: SHA-256 of its UTF-8 text, in lower-case hex."""
    return hashlib.sha256(query.encode()).hexdigest()


def requested_hash(request: GraphQLRequestData, *, enabled: bool) -> str | None:
    """The hash of a persisted-query request, checked; None for a request without one."""
    persisted = (request.extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not enabled:
        raise PersistedQueryNotSupported()
    return _check_extension(persisted)


def checked_size(query: str, sha256_hash: str) -> int:
    """The size of `query` in bytes, once its hash is found to be `sha256_hash`."""
    text = query.encode(errors="surrogatepass")  # JSON may carry lone surrogates
    if hashlib.sha256(text).hexdigest() != sha256_hash:
        raise PersistedQueryRefused("provided sha does not match query")
    return len(text)


def _check_extension(persisted: Any) -> str:
    if not isinstance(persisted, Mapping):
        raise PersistedQueryRefused(
            "extensions.persistedQuery must be an object: "
            '{"version": 1, "sha256Hash": "<SHA-256 of the query, in hex>"}'
        )
    if persisted.get("version") != SUPPORTED_VERSION:
        raise PersistedQueryRefused(
            f"Unsupported persisted query version {persisted.get('version')!r}: "
            f"extensions.persistedQuery.version must be {SUPPORTED_VERSION}"
        )
    sha256_hash = persisted.get("sha256Hash")
    if not isinstance(sha256_hash, str) or not SHA256_HEX.fullmatch(sha256_hash):
        raise PersistedQueryRefused(
            "extensions.persistedQuery.sha256Hash must be the SHA-256 of the query in "
            "lower-case hex (64 characters)"
        )
    return sha256_hash
