"""The replay window: remembered ids, forgotten after the window or when it is full."""

from __future__ import annotations

from gateway.events.replay import ReplayWindow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_replay_window_remembers_an_id_within_the_window() -> None:
    clock = Clock()
    window = ReplayWindow(window=60, clock=clock)
    window.remember("m-1")
    clock.now = 59.9

    assert "m-1" in window


def test_replay_window_forgets_an_id_after_the_window() -> None:
    clock = Clock()
    window = ReplayWindow(window=60, clock=clock)
    window.remember("m-1")
    clock.now = 60.0

    assert "m-1" not in window


def test_replay_window_drops_the_oldest_id_when_full() -> None:
    window = ReplayWindow(max_entries=2, clock=Clock())
    for message_id in ("m-1", "m-2", "m-3"):
        window.remember(message_id)

    assert "m-1" not in window
    assert len(window) == 2, len(window)


def test_replay_window_of_no_entries_remembers_nothing() -> None:
    window = ReplayWindow(max_entries=0, clock=Clock())
    window.remember("m-1")

    assert "m-1" not in window
