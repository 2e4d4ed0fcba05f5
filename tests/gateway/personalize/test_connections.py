"""Connection slots: a call waits for one, and says whether it had to."""

import asyncio

import pytest

from gateway.personalize.connections import ConnectionSlots


async def test_slots_are_busy_only_when_every_one_is_held() -> None:
    slots = ConnectionSlots(2)
    async with slots:
        busy_with_one = slots.busy
        async with slots:
            busy_with_two = slots.busy

    assert busy_with_one is False, busy_with_one
    assert busy_with_two is True, busy_with_two
    assert slots.in_use == 0, slots.in_use


async def test_slots_make_a_call_over_the_size_wait() -> None:
    slots = ConnectionSlots(1)
    async with slots:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01), slots:
                pass

    assert slots.in_use == 0, slots.in_use


def test_slots_refuse_a_size_under_one() -> None:
    with pytest.raises(ValueError, match="size must be 1 or more, got 0"):
        ConnectionSlots(0)
