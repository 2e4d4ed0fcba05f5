"""Offline evaluation of the recommender: hit rate on held-out interactions.

Protocol (leave the last new item out): for each evaluated user, the held-out interaction is the
last one whose item the user had not interacted with before; that interaction and everything the
user did after it are removed, and the model is trained on what remains (every other user's
interactions included). A user counts as a hit when the held-out item is among the top k of
`recommend`. The baseline is `popular`. Both leave out the items the user already interacted with,
as an app does with a filter (`EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`): the
recommender itself does not. Users whose held-out item would be their very first interaction are
not evaluated, since there is nothing to personalize from.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from emulator.dataset import Dataset, Interaction
from emulator.filters import ItemPredicate
from emulator.model import Model

DEFAULT_USERS = 1_000
DEFAULT_K = 25
DEFAULT_SEED = 2018


@dataclass(frozen=True, slots=True)
class HitRates:
    """Share of evaluated users whose held-out item was in the top k, per strategy."""

    users: int
    k: int
    recommend: float
    popular: float

    @property
    def ratio(self) -> float:
        return self.recommend / self.popular if self.popular else math.inf


@dataclass(frozen=True, slots=True)
class HoldOut:
    """A dataset with each evaluated user's last new item (and what followed) removed."""

    training: Dataset
    held_out: dict[str, str]  # user id -> the item to predict


def hold_out(dataset: Dataset, *, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED) -> HoldOut:
    """Choose `users` users at random (seeded) and hold out their last new item."""
    by_user: dict[str, list[int]] = {}
    for position, interaction in enumerate(dataset.interactions):
        by_user.setdefault(interaction.user_id, []).append(position)
    cuts: dict[str, int] = {}
    for user_id, positions in by_user.items():
        seen: set[str] = set()
        cut = -1
        for offset, position in enumerate(positions):
            item_id = dataset.interactions[position].item_id
            if item_id not in seen:
                seen.add(item_id)
                cut = offset
        if cut > 0:
            cuts[user_id] = cut
    chosen = random.Random(seed).sample(sorted(cuts), min(users, len(cuts)))
    dropped: set[int] = set()
    held_out: dict[str, str] = {}
    for user_id in chosen:
        positions = by_user[user_id]
        held_out[user_id] = dataset.interactions[positions[cuts[user_id]]].item_id
        dropped.update(positions[cuts[user_id] :])
    interactions: list[Interaction] = [
        interaction
        for position, interaction in enumerate(dataset.interactions)
        if position not in dropped
    ]
    training = Dataset(items=dataset.items, users=dataset.users, interactions=interactions)
    return HoldOut(training, held_out)


def hit_rates(
    dataset: Dataset,
    *,
    users: int = DEFAULT_USERS,
    k: int = DEFAULT_K,
    seed: int = DEFAULT_SEED,
) -> HitRates:
    """Hold out, train on the rest, and measure hit rate @k of `recommend` and of `popular`."""
    split = hold_out(dataset, users=users, seed=seed)
    model = Model.train(split.training)
    recommend_hits = 0
    popular_hits = 0
    for user_id, item_id in split.held_out.items():
        seen = _excluding({interaction.item_id for interaction in model.history(user_id)})
        recommended = model.recommend(user_id, k, accept=seen)
        recommend_hits += any(scored.item_id == item_id for scored in recommended)
        popular = model.popular(k, accept=seen)
        popular_hits += any(scored.item_id == item_id for scored in popular)
    count = max(len(split.held_out), 1)
    return HitRates(len(split.held_out), k, recommend_hits / count, popular_hits / count)


def _excluding(item_ids: set[str]) -> ItemPredicate:
    return lambda item_id: item_id not in item_ids
