import asyncio

import pytest

from emulator.faults import INTERNAL_ERROR, THROTTLED, UNAVAILABLE, Faults


async def test_no_faults_lets_every_call_through() -> None:
    faults = Faults()
    assert [await faults.apply() for _ in range(20)] == [None] * 20


async def test_throttle_rate_one_throttles_every_call() -> None:
    faults = Faults(throttle_rate=1.0)
    assert [await faults.apply() for _ in range(3)] == [THROTTLED] * 3


async def test_throttling_is_answered_as_400_throttling_exception() -> None:
    assert (THROTTLED.status, THROTTLED.code) == (400, "ThrottlingException")


async def test_error_rate_one_alternates_500_and_503() -> None:
    faults = Faults(error_rate=1.0)
    assert [await faults.apply() for _ in range(4)] == [
        INTERNAL_ERROR,
        UNAVAILABLE,
        INTERNAL_ERROR,
        UNAVAILABLE,
    ]


async def test_seeded_faults_repeat_their_sequence() -> None:
    first, second = Faults(throttle_rate=0.5, seed=7), Faults(throttle_rate=0.5, seed=7)
    assert [await first.apply() for _ in range(30)] == [await second.apply() for _ in range(30)]


async def test_partial_throttle_rate_throttles_some_calls() -> None:
    faults = Faults(throttle_rate=0.5, seed=1)
    outcomes = {await faults.apply() for _ in range(100)}
    assert outcomes == {None, THROTTLED}


def test_update_changes_settings() -> None:
    faults = Faults()
    faults.update({"latency_ms": 5, "error_rate": 0.25})
    assert faults.as_dict() == {
        "latency_ms": 5.0,
        "jitter_ms": 0.0,
        "throttle_rate": 0.0,
        "error_rate": 0.25,
    }


def test_update_with_an_invalid_value_changes_nothing() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="throttle_rate must be between 0 and 1"):
        faults.update({"latency_ms": 5, "throttle_rate": 2})
    assert faults.latency_ms == 0.0


def test_update_with_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault setting 'latency'"):
        Faults().update({"latency": 5})


def test_negative_latency_is_refused_on_assignment() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="latency_ms must be 0 or more"):
        faults.latency_ms = -1


def test_reset_clears_every_fault() -> None:
    faults = Faults(latency_ms=3, jitter_ms=2, throttle_rate=0.1, error_rate=0.2)
    faults.reset()
    assert set(faults.as_dict().values()) == {0.0}


async def test_latency_delays_the_call() -> None:
    faults = Faults(latency_ms=10_000)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(faults.apply(), timeout=0.01)
