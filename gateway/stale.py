"""The last good answer to each request, kept to stand in when Personalize cannot answer."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from schema.ports import Recommendations


class StaleStore:
    """A bounded least-recently-used store of Personalize answers, keyed by the whole request.

    At most `max_entries` answers are kept (0 keeps none); an answer older than `max_age`
    seconds is never served. Keys are digests of the request, so a 500-item ranking request
    costs no more key memory than a short one. `clock` is for tests.
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
        self._entries: OrderedDict[Hashable, tuple[float, Recommendations]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, key: Hashable, answer: Recommendations) -> None:
        """Keep `answer` as the latest for `key`; the least recently used go beyond the bound."""
        if self.max_entries == 0:
            return
        self._entries[key] = (self._clock(), answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get(self, key: Hashable) -> Recommendations | None:
        """The answer kept for `key` if it is younger than `max_age`, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, answer = entry
        if self._clock() - stored_at > self.max_age:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return answer


def request_key(operation: str, **parameters: Any) -> bytes:
    """A digest of an operation and all its parameters: equal requests, equal keys."""
    text = json.dumps([operation, parameters], sort_keys=True, default=_plain)
    return hashlib.blake2b(text.encode(), digest_size=20).digest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot key a request on a {type(value).__name__}")
