"""The stale store: bounded, least recently used out first, and never older than its max age."""

import pytest

from gateway.personalize.stale import StaleStore, request_key
from schema.ports import FilterRequest, Recommendation, Recommendations


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def kept(store: StaleStore, key: str) -> Recommendations | None:
    return (await store.get(key)).answer


def answer(*item_ids: str) -> Recommendations:
    return Recommendations("rid", tuple(Recommendation(item, 0.5) for item in item_ids))


async def test_stale_store_returns_the_last_answer_for_a_key() -> None:
    store = StaleStore(max_entries=10, max_age=60.0)
    await store.put("a", answer("i-1"))
    await store.put("a", answer("i-2"))

    assert await kept(store, "a") == answer("i-2")


async def test_stale_store_has_nothing_for_another_key() -> None:
    store = StaleStore(max_entries=10, max_age=60.0)
    await store.put("a", answer("i-1"))

    assert await kept(store, "b") is None


async def test_stale_store_evicts_the_least_recently_used_beyond_max_entries() -> None:
    store = StaleStore(max_entries=2, max_age=60.0)
    await store.put("a", answer("i-1"))
    await store.put("b", answer("i-2"))
    await kept(store, "a")  # now b is the least recently used

    await store.put("c", answer("i-3"))

    assert ([await kept(store, key) is not None for key in "abc"], len(store)) == (
        [True, False, True],
        2,
    )


async def test_stale_store_does_not_serve_past_max_age() -> None:
    clock = Clock()
    store = StaleStore(max_entries=10, max_age=60.0, clock=clock)
    await store.put("a", answer("i-1"))
    clock.now += 60.5

    assert (await kept(store, "a"), len(store)) == (None, 0)


async def test_stale_store_serves_within_max_age() -> None:
    clock = Clock()
    store = StaleStore(max_entries=10, max_age=60.0, clock=clock)
    await store.put("a", answer("i-1"))
    clock.now += 59.5

    assert await kept(store, "a") == answer("i-1")


async def test_stale_store_with_no_entries_allowed_keeps_nothing() -> None:
    store = StaleStore(max_entries=0, max_age=60.0)
    await store.put("a", answer("i-1"))

    assert (await kept(store, "a"), len(store)) == (None, 0)


async def test_stale_store_invalidate_user_forgets_only_that_users_answers() -> None:
    store = StaleStore(max_entries=10, max_age=60.0)
    await store.put("a", answer("i-1"), user_id="u-1")
    await store.put("b", answer("i-2"), user_id="u-1")
    await store.put("c", answer("i-3"), user_id="u-2")
    await store.put("d", answer("i-4"))

    forgotten = await store.invalidate_user("u-1")

    assert (forgotten, [await kept(store, key) is not None for key in "abcd"], len(store)) == (
        2,
        [False, False, True, True],
        2,
    )


async def test_stale_store_invalidate_user_counts_no_answer_already_evicted() -> None:
    store = StaleStore(max_entries=2, max_age=60.0)
    await store.put("a", answer("i-1"), user_id="u-1")
    await store.put("b", answer("i-2"), user_id="u-1")
    await store.put("c", answer("i-3"), user_id="u-2")  # evicts a

    assert ([await store.invalidate_user(user) for user in ("u-1", "u-2")], len(store)) == (
        [1, 1],
        0,
    )


async def test_stale_store_invalidate_user_counts_no_answer_already_expired() -> None:
    clock = Clock()
    store = StaleStore(max_entries=10, max_age=60.0, clock=clock)
    await store.put("a", answer("i-1"), user_id="u-1")
    clock.now += 60.5
    await kept(store, "a")  # expired: dropped

    assert await store.invalidate_user("u-1") == 0


async def test_stale_store_index_holds_no_more_users_than_kept_answers() -> None:
    store = StaleStore(max_entries=3, max_age=60.0)
    for n in range(100):
        await store.put(f"k-{n}", answer("i-1"), user_id=f"u-{n % 7}")

    forgotten = [await store.invalidate_user(f"u-{n}") for n in range(7)]

    assert (sum(forgotten), len(store)) == (3, 0)


async def test_stale_store_key_put_again_for_another_user_moves_to_that_user() -> None:
    store = StaleStore(max_entries=10, max_age=60.0)
    await store.put("a", answer("i-1"), user_id="u-1")
    await store.put("a", answer("i-2"), user_id="u-2")

    assert (await store.invalidate_user("u-1"), await kept(store, "a")) == (0, answer("i-2"))


async def test_request_key_is_equal_for_equal_requests() -> None:
    first = request_key(
        "recommend",
        user_id="u-1",
        filter=FilterRequest("arn:f", {"A": "1", "B": "2"}),
        personalize_context={"X": "1", "Y": "2"},
    )
    second = request_key(
        "recommend",
        personalize_context={"Y": "2", "X": "1"},
        filter=FilterRequest("arn:f", {"B": "2", "A": "1"}),
        user_id="u-1",
    )

    assert first == second


@pytest.mark.parametrize(
    "other",
    [
        {"operation": "related_items", "user_id": "u-1", "num_results": 5},
        {"operation": "recommend", "user_id": "u-2", "num_results": 5},
        {"operation": "recommend", "user_id": "u-1", "num_results": 6},
        {"operation": "recommend", "user_id": "u-1", "num_results": 5, "filter": None},
    ],
)
async def test_request_key_differs_when_anything_differs(other: dict[str, object]) -> None:
    operation = str(other.pop("operation"))

    assert request_key("recommend", user_id="u-1", num_results=5) != request_key(operation, **other)
