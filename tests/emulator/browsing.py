"""Small browsing histories turned into interactions, for models trained in a test."""

from collections.abc import Mapping, Sequence

from emulator.dataset import Interaction


def views(browsing: Mapping[str, Sequence[str]]) -> list[Interaction]:
    """A `view` of each item, user after user in order, 10 seconds apart."""
    interactions = []
    clock = 1_000
    for user_id, item_ids in browsing.items():
        for item_id in item_ids:
            interactions.append(Interaction(user_id, item_id, clock, "view"))
            clock += 10
    return interactions
