"""The message ids a webhook recorded recently, so a replayed message is not recorded twice."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_WINDOW = 6 * 3600.0  # Segment retries a failed delivery for up to 4 hours
DEFAULT_MAX_ENTRIES = 100_000  # about 15 MB of ids at most


class ReplayWindow:
    """Ids remembered for `window` seconds, at most `max_entries` of them (the oldest go first).

    `clock` gives monotonic seconds; tests pass their own.
    """

    def __init__(
        self,
        *,
        window: float = DEFAULT_WINDOW,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window = window
        self._max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> when, oldest first

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, message_id: str) -> bool:
        self._forget_expired()
        return message_id in self._seen

    def remember(self, message_id: str) -> None:
        if self._max_entries == 0:
            return
        self._seen[message_id] = self._clock()
        self._seen.move_to_end(message_id)
        while len(self._seen) > self._max_entries:
            self._seen.popitem(last=False)

    def _forget_expired(self) -> None:
        oldest = self._clock() - self._window
        while self._seen:
            message_id, seen_at = next(iter(self._seen.items()))
            if seen_at > oldest:
                return
            del self._seen[message_id]
