from __future__ import annotations

import pytest

from emulator.dataset import Dataset, Interaction
from emulator.model import Model, ScoredItem
from tests.emulator.browsing import views

# Two clusters of items that shoppers browse together, and an item nobody has touched (z).
BROWSING = {
    "u1": ["a1", "a2"],
    "u2": ["a1", "a2", "a3"],
    "u3": ["a2", "a3"],
    "u4": ["b1", "b2"],
    "u5": ["b1", "b2", "b3"],
    "u6": ["b2", "b3"],
    "u7": ["b2"],
}
LATER = 10_000


def browsing_dataset() -> Dataset:
    items = {
        item_id: {"CATEGORY": item_id[0]} for item_id in ("a1", "a2", "a3", "b1", "b2", "b3", "z")
    }
    return Dataset(items=items, users={}, interactions=views(BROWSING))


@pytest.fixture
def model() -> Model:
    return Model.train(browsing_dataset())


def ids(scored: list[ScoredItem]) -> list[str]:
    return [item.item_id for item in scored]


def test_similar_puts_items_browsed_together_first(model: Model) -> None:
    similar = model.similar("a1", 2)

    assert ids(similar) == ["a2", "a3"]


def test_similar_backfills_with_popular_items(model: Model) -> None:
    similar = model.similar("a1", 3)

    assert ids(similar) == ["a2", "a3", "b2"]


def test_similar_never_returns_the_item_itself(model: Model) -> None:
    similar = model.similar("b2", 10)

    assert sorted(ids(similar)) == ["a1", "a2", "a3", "b1", "b3", "z"]


def test_similar_of_unknown_item_is_popularity(model: Model) -> None:
    similar = model.similar("nothing-like-it", 2)

    assert ids(similar) == ["b2", "a2"]


def test_popular_orders_by_interaction_count(model: Model) -> None:
    popular = model.popular(2)

    assert ids(popular) == ["b2", "a2"]


def test_recommend_for_unknown_user_is_popularity_order(model: Model) -> None:
    recommended = model.recommend("stranger", 7)

    assert ids(recommended) == ids(model.popular(7))


def test_recommend_follows_the_users_cluster(model: Model) -> None:
    recommended = model.recommend("u1", 2)

    assert ids(recommended) == ["a3", "a1"]


def test_recommend_keeps_seen_items(model: Model) -> None:
    recommended = model.recommend("u2", 10)

    assert sorted(ids(recommended)) == ["a1", "a2", "a3", "b1", "b2", "b3", "z"]


def test_recommend_scores_are_descending(model: Model) -> None:
    scores = [item.score or 0.0 for item in model.recommend("u5", 10)]

    assert scores == sorted(scores, reverse=True), scores


def test_recommend_scores_sum_to_one_over_the_catalog(model: Model) -> None:
    total = sum(item.score or 0.0 for item in model.recommend("u5", 10))

    assert abs(total - 1.0) <= 1e-9, total


def test_put_item_adds_an_item_with_its_metadata(model: Model) -> None:
    model.put_item("c1", {"CATEGORY": "c"})

    assert model.items["c1"] == {"CATEGORY": "c"}


def test_put_item_is_not_trained_on(model: Model) -> None:
    model.put_item("c1", {"CATEGORY": "c"})

    assert model.is_trained_on("c1") is False


def test_put_item_replaces_the_metadata_of_a_known_item(model: Model) -> None:
    model.put_item("a1", {"CATEGORY": "sale"})

    assert model.items["a1"] == {"CATEGORY": "sale"}


def test_new_item_is_not_explored_with_exploration_weight_zero(model: Model) -> None:
    model.put_item("c1", {})

    assert "c1" not in ids(model.recommend("u1", 3, exploration_weight=0.0))


def test_new_item_is_explored_with_exploration_weight_one(model: Model) -> None:
    model.put_item("c1", {})

    assert "c1" in ids(model.recommend("u1", 2, exploration_weight=1.0))


def test_new_item_is_recommended_once_popular(model: Model) -> None:
    model.put_item("c1", {})
    for buyer in range(5):
        model.record(Interaction(f"buyer-{buyer}", "c1", LATER, "purchase"))

    assert ids(model.recommend("stranger", 1)) == ["c1"]


def test_put_user_keeps_the_users_metadata(model: Model) -> None:
    model.put_user("u1", {"AGE": "30"})

    assert model.user("u1") == {"AGE": "30"}


def test_recommend_applies_accept_predicate(model: Model) -> None:
    recommended = model.recommend("u1", 2, accept=lambda item_id: item_id.startswith("b"))

    assert ids(recommended)[0] == "b2"
    assert all(item_id.startswith("b") for item_id in ids(recommended))


def test_recommend_inspects_only_the_candidates_it_needs(model: Model) -> None:
    inspected: list[str] = []

    def accept(item_id: str) -> bool:
        inspected.append(item_id)
        return True

    model.recommend("u1", 1, accept=accept)

    assert inspected == ["a3"]


def test_record_moves_recommendations_to_the_new_interest(model: Model) -> None:
    model.record(Interaction("u7", "a1", LATER, "view"))

    assert ids(model.recommend("u7", 1)) == ["a2"]


def test_record_of_a_new_user_personalizes_at_once(model: Model) -> None:
    model.record(Interaction("newcomer", "b1", LATER, "view"))

    assert ids(model.recommend("newcomer", 1)) == ["b2"]


def test_record_of_unknown_item_adds_it_to_the_catalog(model: Model) -> None:
    model.record(Interaction("u1", "brand-new-item", LATER, "view"))

    assert model.items["brand-new-item"] == {}


def test_record_of_unknown_item_is_kept_in_history(model: Model) -> None:
    model.record(Interaction("u1", "brand-new-item", LATER, "view"))

    assert [i.item_id for i in model.history("u1")] == ["a1", "a2", "brand-new-item"]


def test_record_of_unknown_item_leaves_recommendations_working(model: Model) -> None:
    model.record(Interaction("u1", "brand-new-item", LATER, "view"))

    assert ids(model.recommend("u1", 1)) == ["a3"]


def test_record_of_an_older_event_keeps_history_in_time_order(model: Model) -> None:
    model.record(Interaction("u1", "b1", 1, "view"))

    assert [i.item_id for i in model.history("u1")] == ["b1", "a1", "a2"]


def test_record_of_purchases_raises_popularity(model: Model) -> None:
    model.record(Interaction("buyer-1", "z", LATER, "purchase"))
    model.record(Interaction("buyer-2", "z", LATER, "purchase"))

    assert ids(model.popular(1)) == ["z"]


def test_history_of_unknown_user_is_empty(model: Model) -> None:
    history = model.history("stranger")

    assert list(history) == []


def test_rank_orders_for_the_user_and_appends_unknown_items(model: Model) -> None:
    ranked = model.rank("u1", ["b1", "mystery", "a3", "b1", "a1", "other"])

    assert ids(ranked) == ["a3", "a1", "b1", "mystery", "other"]


def test_rank_scores_unknown_items_zero(model: Model) -> None:
    ranked = model.rank("u1", ["b1", "mystery", "a3"])

    assert [item.score for item in ranked][-1] == 0.0


def test_rank_scores_sum_to_one_over_the_input(model: Model) -> None:
    total = sum(item.score or 0.0 for item in model.rank("u1", ["b1", "mystery", "a3", "a1"]))

    assert abs(total - 1.0) <= 1e-9, total


def test_rank_scores_an_item_added_since_training_zero(model: Model) -> None:
    model.put_item("c1", {})

    assert model.rank("u1", ["c1", "a3"])[-1] == ScoredItem("c1", 0.0)


def test_rank_for_unknown_user_is_by_popularity(model: Model) -> None:
    ranked = model.rank("stranger", ["a1", "b2", "a2"])

    assert ids(ranked)[:2] == ["b2", "a2"]


def test_items_include_interaction_only_items_without_metadata() -> None:
    dataset = browsing_dataset()
    dataset.interactions.append(Interaction("u1", "uncatalogued", 5_000, "view"))

    model = Model.train(dataset)

    assert model.items["uncatalogued"] == {}


def test_train_puts_hand_made_interactions_in_time_order() -> None:
    interactions = [Interaction("u1", "a2", 20, "view"), Interaction("u1", "a1", 10, "view")]

    model = Model.train(Dataset(items={}, users={}, interactions=interactions))

    assert [i.item_id for i in model.history("u1")] == ["a1", "a2"]


def test_train_on_empty_dataset_recommends_nothing() -> None:
    model = Model.train(Dataset(items={}, users={}, interactions=[]))

    assert model.recommend("anyone", 5) == []


@pytest.mark.slow
def test_sample_model_scores_are_descending_within_unit_interval(sample_model: Model) -> None:
    lists = [sample_model.recommend(f"u-{n:05d}", 50) for n in range(1, 40)]
    lists += [sample_model.similar(f"i-{n:05d}", 50) for n in range(1, 40)]

    for scored in lists:
        assert None not in [item.score for item in scored]
        scores = [item.score or 0.0 for item in scored]
        assert len(scores) == 50
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= score <= 1.0 for score in scores)
