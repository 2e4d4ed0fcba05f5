"""The event ids PutEvents has recorded lately, so that a retried event is recorded once."""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAPACITY = 100_000


class RecentEventIds:
    """Event ids seen per user (or per session, for events without a user), oldest forgotten first.

    Personalize treats the events of one id as one: a client retrying a PutEvents call whose
    answer it never saw records nothing twice. At most `capacity` ids are remembered, so memory
    stays bounded however long the emulator runs; a duplicate arriving after its id was
    forgotten is recorded again.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be 1 or more, got {capacity}")
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, user_id: str, event_id: str) -> bool:
        """Remember `event_id` for `user_id`: True if it is new, False if already recorded."""
        key = (user_id, event_id)
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True
