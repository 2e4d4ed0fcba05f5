from __future__ import annotations

from emulator.dataset import Dataset, Interaction
from emulator.evaluation import hit_rates, hold_out


def dataset(events: list[tuple[str, str]]) -> Dataset:
    interactions = [
        Interaction(user_id, item_id, 100 + 10 * position, "view")
        for position, (user_id, item_id) in enumerate(events)
    ]
    items: dict[str, dict[str, str]] = {item_id: {} for _, item_id in events}
    return Dataset(items=items, users={}, interactions=interactions)


def test_hold_out_removes_last_new_item_and_what_follows() -> None:
    split = hold_out(dataset([("u1", "a"), ("u1", "b"), ("u1", "c"), ("u1", "a"), ("u1", "c")]))

    assert split.held_out == {"u1": "c"}
    assert [i.item_id for i in split.training.interactions] == ["a", "b"]


def test_hold_out_keeps_other_users_whole() -> None:
    split = hold_out(dataset([("u1", "a"), ("u2", "a"), ("u1", "b"), ("u2", "b")]), users=1, seed=3)

    kept = [(i.user_id, i.item_id) for i in split.training.interactions]

    assert len(split.held_out) == 1
    assert len(kept) == 3


def test_hold_out_skips_users_with_a_single_item() -> None:
    split = hold_out(dataset([("u1", "a"), ("u1", "a"), ("u2", "a"), ("u2", "b")]))

    assert split.held_out == {"u2": "b"}


def test_hit_rates_counts_a_predictable_item_as_hit() -> None:
    events = [(f"u{n}", item) for n in range(5) for item in ("a", "b")]
    events += [(f"v{n}", "c") for n in range(8)]

    rates = hit_rates(dataset(events), users=1, k=1, seed=1)

    assert (rates.users, rates.recommend, rates.popular) == (1, 1.0, 0.0)
