"""The local Personalize behaves as AWS documents it, seen through stock boto3 clients over HTTP.

A small store of its own (120 items in 4 categories, so one call can return the whole catalog)
and a configuration with a campaign per rule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from emulator import LocalPersonalize
from emulator.config import EmulatorConfig
from emulator.dataset import Dataset, Interaction
from emulator.model import Model

CATEGORIES = ("shoes", "outdoor", "home", "books")
ITEMS = {
    f"i{n:03d}": {"CATEGORY": CATEGORIES[n % 4], "PRICE": str(10 + n), "TITLE": f"Item {n}"}
    for n in range(120)
}
CONFIG = EmulatorConfig.from_dict(
    {
        "tracking_ids": ["tracker"],
        "campaigns": {
            "for-you": {"recipe": "user-personalization", "metadata": True},
            "for-you-v2": {"recipe": "aws-user-personalization-v2", "metadata": True},
            "no-exploration": {"recipe": "user-personalization", "exploration_weight": 0},
            "full-exploration": {"recipe": "user-personalization", "exploration_weight": 1},
            "no-metadata": "user-personalization",
            "related": {"recipe": "similar-items", "metadata": True},
            "ranking": {"recipe": "personalized-ranking", "metadata": True},
        },
        "recommenders": {"recommended-for-you": "aws-ecomm-recommended-for-you"},
        "filters": {
            "exclude-purchased": 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")',
            "viewed": 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")',
            "category": "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)",
            "cheaper": "INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE",
            "same-category": "INCLUDE ItemID WHERE Items.CATEGORY IN CurrentItem.CATEGORY",
            "outdoor-for-gold": (
                'INCLUDE ItemID WHERE Items.CATEGORY IN ("outdoor") '
                'IF CurrentUser.MEMBERSHIP IN ("gold") AND CurrentUser.AGE > 18'
            ),
        },
    }
)
FOR_YOU = CONFIG.campaign_arn("for-you")
RELATED = CONFIG.campaign_arn("related")
RANKING = CONFIG.campaign_arn("ranking")
CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "test",
    "aws_secret_access_key": "test",
}


def browsing() -> list[Interaction]:
    """Shoppers who browse within one category, 20 seconds apart."""
    interactions = []
    clock = 1_000
    for user in range(60):
        for step in range(8):
            item = (user * 7 + step * 4) % 120
            interactions.append(Interaction(f"u{user:02d}", f"i{item:03d}", clock, "view"))
            clock += 20
    return interactions


@pytest.fixture(scope="module")
def personalize() -> Iterator[LocalPersonalize]:
    model = Model.train(Dataset(items=ITEMS, users={}, interactions=browsing()))
    with LocalPersonalize(model, CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def runtime(personalize: LocalPersonalize) -> Iterator[BaseClient]:
    client = boto3.client(
        "personalize-runtime", endpoint_url=personalize.endpoint_url, **CREDENTIALS
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def events(personalize: LocalPersonalize) -> Iterator[BaseClient]:
    client = boto3.client(
        "personalize-events", endpoint_url=personalize.endpoint_url, **CREDENTIALS
    )
    yield client
    client.close()


def recommend(runtime: BaseClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = runtime.get_recommendations(**params)["itemList"]
    return items


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["itemId"] for item in items]


def send(events: BaseClient, user_id: str, *pairs: tuple[str, str], start: float = 0) -> None:
    """PutEvents of (item, event type) pairs, one second apart, in calls of 10."""
    sent_at = start or time.time()
    batch = [
        {"itemId": item, "eventType": event_type, "sentAt": sent_at + offset}
        for offset, (item, event_type) in enumerate(pairs)
    ]
    for first in range(0, len(batch), 10):
        events.put_events(
            trackingId="tracker", userId=user_id, sessionId="s", eventList=batch[first : first + 10]
        )


def error(call: Any, **params: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def put_items(events: BaseClient, *items: tuple[str, dict[str, Any]]) -> None:
    events.put_items(
        datasetArn=CONFIG.dataset_arn("ITEMS"),
        items=[{"itemId": item, "properties": json.dumps(props)} for item, props in items],
    )


# --- seen items -------------------------------------------------------------------------------


def test_viewed_item_is_still_recommended_without_a_filter(
    runtime: BaseClient, events: BaseClient
) -> None:
    top = ids(recommend(runtime, campaignArn=FOR_YOU, userId="seen-viewer", numResults=1))[0]
    send(events, "seen-viewer", (top, "view"))

    after = ids(recommend(runtime, campaignArn=FOR_YOU, userId="seen-viewer", numResults=25))

    assert top in after, after


def test_purchased_item_is_gone_with_exclude_purchased(
    runtime: BaseClient, events: BaseClient
) -> None:
    top = ids(recommend(runtime, campaignArn=FOR_YOU, userId="seen-buyer", numResults=1))[0]
    send(events, "seen-buyer", (top, "purchase"))

    after = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="seen-buyer",
        numResults=500,
        filterArn=CONFIG.filter_arn("exclude-purchased"),
    )

    assert top not in ids(after), top


def test_include_viewed_filter_returns_the_viewed_items(
    runtime: BaseClient, events: BaseClient
) -> None:
    send(events, "seen-browser", ("i001", "view"), ("i002", "view"), ("i003", "purchase"))

    viewed = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="seen-browser",
        filterArn=CONFIG.filter_arn("viewed"),
    )

    assert sorted(ids(viewed)) == ["i001", "i002"]


def test_filter_considers_only_the_100_latest_interactions_per_event_type(
    runtime: BaseClient, events: BaseClient
) -> None:
    bought = [f"i{n:03d}" for n in range(101)]  # i000 is the oldest of 101 purchases
    send(events, "hundred-and-one", *((item, "purchase") for item in bought), start=5_000)

    kept = ids(
        recommend(
            runtime,
            campaignArn=FOR_YOU,
            userId="hundred-and-one",
            numResults=500,
            filterArn=CONFIG.filter_arn("exclude-purchased"),
        )
    )

    assert sorted(item for item in kept if item in bought) == ["i000"]


# --- scores -----------------------------------------------------------------------------------


def test_user_personalization_scores_sum_to_one_over_the_catalog(runtime: BaseClient) -> None:
    items = recommend(runtime, campaignArn=FOR_YOU, userId="u03", numResults=500)

    assert len(items) == len(ITEMS), len(items)
    assert abs(sum(item["score"] for item in items) - 1) <= 1e-6, items


def test_personalized_ranking_scores_sum_to_one_over_the_input(runtime: BaseClient) -> None:
    ranking = runtime.get_personalized_ranking(
        campaignArn=RANKING, userId="u03", inputList=["i010", "i020", "i030", "i040"]
    )["personalizedRanking"]

    assert abs(sum(item["score"] for item in ranking) - 1) <= 1e-6, ranking


def test_unknown_ranking_items_are_scored_zero_and_last(runtime: BaseClient) -> None:
    ranking = runtime.get_personalized_ranking(
        campaignArn=RANKING, userId="u03", inputList=["nobody-knows", "i010", "i020"]
    )["personalizedRanking"]

    assert ranking[-1] == {"itemId": "nobody-knows", "score": 0.0}, ranking


def test_domain_recommender_returns_no_scores(runtime: BaseClient) -> None:
    items = recommend(
        runtime, recommenderArn=CONFIG.recommender_arn("recommended-for-you"), userId="u03"
    )

    assert [item for item in items if "score" in item] == []


# --- metadata ---------------------------------------------------------------------------------


def test_metadata_columns_for_a_campaign_without_metadata_is_invalid_input(
    runtime: BaseClient,
) -> None:
    params = {
        "campaignArn": CONFIG.campaign_arn("no-metadata"),
        "userId": "u03",
        "metadataColumns": {"ITEMS": ["TITLE"]},
    }
    assert error(runtime.get_recommendations, **params) == (400, "InvalidInputException")


def test_metadata_columns_with_51_results_is_invalid_input(runtime: BaseClient) -> None:
    params = {
        "campaignArn": FOR_YOU,
        "userId": "u03",
        "numResults": 51,
        "metadataColumns": {"ITEMS": ["TITLE"]},
    }
    assert error(runtime.get_recommendations, **params) == (400, "InvalidInputException")


def test_metadata_columns_with_50_results_answers_50(runtime: BaseClient) -> None:
    items = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="u03",
        numResults=50,
        metadataColumns={"ITEMS": ["TITLE"]},
    )
    assert len(items) == 50, len(items)


# --- new items and users ----------------------------------------------------------------------


def test_put_item_can_be_filtered_on(runtime: BaseClient, events: BaseClient) -> None:
    put_items(events, ("new-lamp", {"category": "lamps", "price": 25}))

    items = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="u03",
        filterArn=CONFIG.filter_arn("category"),
        filterValues={"CATEGORY": '"lamps"'},
    )

    assert ids(items) == ["new-lamp"]


def test_put_item_with_a_property_the_items_dataset_lacks_is_invalid_input(
    events: BaseClient,
) -> None:
    params = {
        "datasetArn": CONFIG.dataset_arn("ITEMS"),
        "items": [{"itemId": "new-odd", "properties": '{"colour": "red"}'}],
    }
    assert error(events.put_items, **params) == (400, "InvalidInputException")


def test_put_item_is_returned_by_metadata_columns(runtime: BaseClient, events: BaseClient) -> None:
    put_items(events, ("new-rug", {"category": "rugs", "title": "Wool Rug"}))

    items = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="u03",
        filterArn=CONFIG.filter_arn("category"),
        filterValues={"CATEGORY": '"rugs"'},
        metadataColumns={"ITEMS": ["TITLE"]},
    )

    assert items[0]["metadata"] == {"TITLE": "Wool Rug"}, items


def test_put_item_is_ranked_with_score_zero_until_trained_on(
    runtime: BaseClient, events: BaseClient
) -> None:
    put_items(events, ("new-vase", {"category": "home"}))

    ranking = runtime.get_personalized_ranking(
        campaignArn=RANKING, userId="u03", inputList=["new-vase", "i010"]
    )["personalizedRanking"]

    assert ranking == [
        {"itemId": "i010", "score": 1.0},
        {"itemId": "new-vase", "score": 0.0},
    ]


def test_put_item_is_recommended_after_interactions(
    runtime: BaseClient, events: BaseClient
) -> None:
    put_items(events, ("new-kettle", {"category": "home"}))
    request = {"campaignArn": CONFIG.campaign_arn("no-exploration"), "userId": "newcomer"}
    before = ids(recommend(runtime, **request, numResults=5))
    for buyer in range(10):
        send(events, f"kettle-buyer-{buyer}", ("new-kettle", "purchase"))

    after = ids(recommend(runtime, **request, numResults=5))

    assert ("new-kettle" in before, "new-kettle" in after) == (False, True)


def test_put_item_is_explored_before_any_interaction(
    runtime: BaseClient, events: BaseClient
) -> None:
    put_items(events, ("new-tent", {"category": "outdoor"}))

    items = recommend(
        runtime, campaignArn=CONFIG.campaign_arn("full-exploration"), userId="u03", numResults=25
    )

    assert "new-tent" in ids(items), items


def test_events_on_an_unknown_item_make_it_recommendable(
    runtime: BaseClient, events: BaseClient
) -> None:
    request = {"campaignArn": CONFIG.campaign_arn("no-exploration"), "userId": "newcomer-2"}
    before = ids(recommend(runtime, **request, numResults=5))
    for buyer in range(12):
        send(events, f"scarf-buyer-{buyer}", ("unlisted-scarf", "purchase"))

    after = ids(recommend(runtime, **request, numResults=5))

    assert ("unlisted-scarf" in before, "unlisted-scarf" in after) == (False, True)


# --- CurrentItem and CurrentUser filters ------------------------------------------------------


def test_current_item_filter_keeps_cheaper_items(runtime: BaseClient) -> None:
    items = recommend(
        runtime,
        campaignArn=RELATED,
        itemId="i050",
        numResults=50,
        filterArn=CONFIG.filter_arn("cheaper"),
        metadataColumns={"ITEMS": ["PRICE"]},
    )

    prices = sorted({int(item["metadata"]["PRICE"]) for item in items})
    assert (len(items), prices[-1]) == (50, 59), prices


def test_current_item_in_filter_keeps_the_items_category(runtime: BaseClient) -> None:
    items = recommend(
        runtime,
        campaignArn=RELATED,
        itemId="i001",
        filterArn=CONFIG.filter_arn("same-category"),
        metadataColumns={"ITEMS": ["CATEGORY"]},
    )

    assert {item["metadata"]["CATEGORY"] for item in items} == {ITEMS["i001"]["CATEGORY"]}


def test_current_item_filter_on_user_recommendations_is_invalid_input(
    runtime: BaseClient,
) -> None:
    params = {"campaignArn": FOR_YOU, "userId": "u03", "filterArn": CONFIG.filter_arn("cheaper")}
    assert error(runtime.get_recommendations, **params) == (400, "InvalidInputException")


def test_if_current_user_filter_applies_to_matching_users(
    runtime: BaseClient, events: BaseClient
) -> None:
    events.put_users(
        datasetArn=CONFIG.dataset_arn("USERS"),
        users=[{"userId": "gold-adult", "properties": '{"membership": "gold", "age": 30}'}],
    )

    items = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="gold-adult",
        filterArn=CONFIG.filter_arn("outdoor-for-gold"),
        metadataColumns={"ITEMS": ["CATEGORY"]},
    )

    assert {item["metadata"]["CATEGORY"] for item in items} == {"outdoor"}


def test_if_current_user_filter_is_left_out_for_other_users(
    runtime: BaseClient, events: BaseClient
) -> None:
    events.put_users(
        datasetArn=CONFIG.dataset_arn("USERS"),
        users=[{"userId": "gold-minor", "properties": '{"membership": "gold", "age": 15}'}],
    )

    items = recommend(
        runtime,
        campaignArn=FOR_YOU,
        userId="gold-minor",
        filterArn=CONFIG.filter_arn("outdoor-for-gold"),
        metadataColumns={"ITEMS": ["CATEGORY"]},
    )

    assert len({item["metadata"].get("CATEGORY") for item in items}) > 1, items


# --- promotions and events --------------------------------------------------------------------


def promoted(runtime: BaseClient, campaign: str, **promotion: Any) -> list[dict[str, Any]]:
    items = recommend(
        runtime,
        campaignArn=CONFIG.campaign_arn(campaign),
        userId="u03",
        numResults=10,
        promotions=[{"name": "sale", "percentPromotedItems": 20, **promotion}],
    )
    return [item for item in items if item.get("promotionName") == "sale"]


def test_promoted_items_have_a_reason_with_user_personalization_v2(runtime: BaseClient) -> None:
    items = promoted(runtime, "for-you-v2")

    assert [item["reason"] for item in items] == [["Promoted item"]] * 2


def test_promoted_items_have_no_reason_with_other_recipes(runtime: BaseClient) -> None:
    items = promoted(runtime, "for-you")

    assert [item for item in items if "reason" in item] == []


def test_promotion_without_a_filter_promotes_its_share(runtime: BaseClient) -> None:
    assert len(promoted(runtime, "for-you")) == 2


def test_events_with_session_id_null_are_ignored(
    personalize: LocalPersonalize, events: BaseClient
) -> None:
    events.put_events(
        trackingId="tracker",
        userId="null-session",
        sessionId="null",
        eventList=[{"itemId": "i001", "eventType": "view", "sentAt": time.time()}],
    )

    assert list(personalize.model.history("null-session")) == []
