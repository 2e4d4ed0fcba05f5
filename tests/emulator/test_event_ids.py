"""Recent event ids: a repeated id is known, per user, and memory stays bounded."""

import pytest

from emulator.event_ids import RecentEventIds


def test_recent_event_ids_know_an_id_added_before() -> None:
    ids = RecentEventIds()
    ids.add("u-1", "e-1")

    assert (ids.add("u-1", "e-1"), ids.add("u-1", "e-2")) == (False, True)


def test_recent_event_ids_keep_users_apart() -> None:
    ids = RecentEventIds()
    ids.add("u-1", "e-1")

    assert ids.add("u-2", "e-1") is True


def test_recent_event_ids_forget_the_oldest_beyond_capacity() -> None:
    ids = RecentEventIds(capacity=2)
    for event_id in ("e-1", "e-2", "e-3"):
        ids.add("u-1", event_id)

    assert (len(ids), ids.add("u-1", "e-3"), ids.add("u-1", "e-1")) == (2, False, True)


def test_recent_event_ids_refuse_no_capacity() -> None:
    with pytest.raises(ValueError, match="capacity must be 1 or more, got 0"):
        RecentEventIds(capacity=0)
