"""The last good answer to each request, kept to stand in when Personalize cannot answer."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple, Protocol

from schema.ports import Recommendations


class Lookup(NamedTuple):
    """What a store found for a request: the answer if one is kept, and, in a store shared by
    replicas, the user's generation then (given back to `put`, so that an answer asked for
    before the user's events is not kept after them)."""

    answer: Recommendations | None
    generation: bytes | None = None
    unavailable: bool = False  # the store could not be asked (a shared store down or slow)


MISS = Lookup(None)


class AnswerStore(Protocol):
    """Personalize answers kept by request, for the response cache and the stale answers: in
    this process (`StaleStore`) or shared by replicas (`RedisAnswerStore`)."""

    max_age: float

    async def get(self, key: bytes, *, user_id: str | None = None) -> Lookup:
        """The answer kept for `key` if it is younger than `max_age`."""
        ...

    async def put(
        self,
        key: bytes,
        answer: Recommendations,
        *,
        user_id: str | None = None,
        generation: bytes | None = None,
    ) -> None:
        """Keep `answer` for `key`, asked for `user_id`; not if `generation` (from `get`) is no
        longer the user's."""
        ...

    async def invalidate_user(self, user_id: str) -> object:
        """Forget every answer put for `user_id`."""
        ...

    def describe(self) -> dict[str, Any]:
        """What /readyz shows of the store."""
        ...


class StaleStore:
    """A bounded least-recently-used store of Personalize answers, keyed by the whole request.

    At most `max_entries` answers are kept (0 keeps none); an answer older than `max_age`
    seconds is never served. Keys are digests of the request, so a 500-item ranking request
    costs no more key memory than a short one. Answers put for a user are indexed by that user,
    so `invalidate_user` can drop them once the user's events reach Personalize; the index
    holds only keys of entries still kept. `clock` is for tests.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 0:
            raise ValueError(f"max_entries must be 0 or more, got {max_entries}")
        if max_age <= 0:
            raise ValueError(f"max_age must be more than 0 seconds, got {max_age}")
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._keys_by_user: dict[str, set[Hashable]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def describe(self) -> dict[str, Any]:
        return {"entries": len(self._entries)}

    async def put(
        self,
        key: Hashable,
        answer: Recommendations,
        *,
        user_id: str | None = None,
        generation: bytes | None = None,
    ) -> None:
        """Keep `answer` as the latest for `key`, asked for `user_id` if any; beyond the bound,
        the least recently used go. (`generation` is for shared stores: this one forgets a
        user's answers at once.)"""
        if self.max_entries == 0:
            return
        self._forget(key)
        self._entries[key] = _Entry(self._clock(), answer, user_id)
        if user_id is not None:
            self._keys_by_user.setdefault(user_id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._forget(next(iter(self._entries)))

    async def get(self, key: Hashable, *, user_id: str | None = None) -> Lookup:
        """The answer kept for `key` if it is younger than `max_age`."""
        entry = self._entries.get(key)
        if entry is None:
            return MISS
        if self._clock() - entry.stored_at > self.max_age:
            self._forget(key)
            return MISS
        self._entries.move_to_end(key)
        return Lookup(entry.answer)

    async def invalidate_user(self, user_id: str) -> int:
        """Forget every answer put for `user_id`; how many there were."""
        keys = self._keys_by_user.pop(user_id, set())
        for key in keys:
            del self._entries[key]
        return len(keys)

    def _forget(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is None or entry.user_id is None:
            return
        keys = self._keys_by_user[entry.user_id]
        keys.discard(key)
        if not keys:
            del self._keys_by_user[entry.user_id]


class _Entry(NamedTuple):
    stored_at: float
    answer: Recommendations
    user_id: str | None


def request_key(operation: str, **parameters: Any) -> bytes:
    """A digest of an operation and all its parameters: equal requests, equal keys."""
    text = json.dumps([operation, parameters], sort_keys=True, default=_plain)
    return hashlib.blake2b(text.encode(), digest_size=20).digest()


def _plain(value: Any) -> Any:
    # One level only: json.dumps comes back here for nested values. dataclasses.asdict would
    # deep-copy every filter and promotion on each request, for the same text.
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot key a request on a {type(value).__name__}")
