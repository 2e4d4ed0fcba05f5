"""The emulator's HTTP surface, over loopback with plain HTTP (the wire tests use the SDKs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator import LocalPersonalize
from emulator.config import EmulatorConfig
from emulator.dataset import Dataset
from emulator.model import Model
from tests.emulator.browsing import views
from tests.emulator.default_config import (
    CATEGORY,
    CONFIG,
    MAX_PRICE,
    PERSONALIZATION,
    POPULAR,
    RANKING,
    SIMILAR,
)

ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazonaws.personalize/"

ITEMS = {
    "i1": {"TITLE": "Road Shoe", "CATEGORY": "shoes", "PRICE": "50"},
    "i2": {"TITLE": "Trail Shoe", "CATEGORY": "shoes", "PRICE": "120"},
    "i3": {"TITLE": "Tent", "CATEGORY": "outdoor", "PRICE": "300"},
    "i4": {"TITLE": "Stove", "CATEGORY": "outdoor", "PRICE": "20"},
    "i5": {"TITLE": "Sock", "CATEGORY": "accessories", "PRICE": "8"},
    "i6": {"TITLE": "Cap", "CATEGORY": "accessories", "PRICE": "15"},
}
BROWSING = {
    "u1": ["i1", "i2"],
    "u2": ["i1", "i2", "i5"],
    "u3": ["i3", "i4"],
    "u4": ["i3", "i4", "i6"],
    "u5": ["i5", "i6"],
    "u6": ["i2", "i3"],
}


def small_model() -> Model:
    return Model.train(Dataset(items=ITEMS, users={}, interactions=views(BROWSING)))


@pytest.fixture(scope="module")
def personalize() -> Iterator[LocalPersonalize]:
    with LocalPersonalize(small_model(), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def http(personalize: LocalPersonalize) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=personalize.endpoint_url) as client:
        yield client


@pytest.fixture
def faults(personalize: LocalPersonalize) -> Iterator[None]:
    yield
    personalize.faults.reset()


def post(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(path, json=body)


def error_code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.headers["x-amzn-ErrorType"].split(":", 1)[0]


def test_error_has_the_aws_shape(http: httpx.Client) -> None:
    response = post(
        http, "/recommendations", {"campaignArn": PERSONALIZATION + "x", "userId": "u1"}
    )
    assert (
        response.status_code,
        response.headers["x-amzn-ErrorType"],
        response.json(),
        len(response.headers["x-amzn-RequestId"]),
    ) == (
        404,
        f"ResourceNotFoundException:{ERROR_NAMESPACE}",
        {"message": f"Resource {PERSONALIZATION}x does not exist."},
        36,
    )


def test_unknown_route_is_an_unknown_operation(http: httpx.Client) -> None:
    assert error_code(http.post("/recommendation", json={})) == (404, "UnknownOperationException")


def test_wrong_method_is_an_unknown_operation(http: httpx.Client) -> None:
    assert error_code(http.get("/recommendations")) == (404, "UnknownOperationException")


def test_body_that_is_not_json_is_a_serialization_error(http: httpx.Client) -> None:
    response = http.post("/recommendations", content=b"{not json")
    assert error_code(response) == (400, "SerializationException")


def test_recommendations_carry_a_recommendation_id(http: httpx.Client) -> None:
    response = post(http, "/recommendations", {"campaignArn": PERSONALIZATION, "userId": "u1"})
    body = response.json()
    assert (response.status_code, body["recommendationId"][:4], len(body["recommendationId"])) == (
        200,
        "RID-",
        40,
    )


def test_default_num_results_is_25_capped_by_the_catalog(http: httpx.Client) -> None:
    response = post(http, "/recommendations", {"recommenderArn": POPULAR})
    assert len(response.json()["itemList"]) == len(ITEMS)


def test_user_personalization_returns_scores(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "userId": "u1", "numResults": 2}
    items = post(http, "/recommendations", body).json()["itemList"]
    assert [("score" in item) for item in items] == [True, True]


def test_similar_items_return_no_scores(http: httpx.Client) -> None:
    body = {"campaignArn": SIMILAR, "itemId": "i1", "numResults": 2}
    items = post(http, "/recommendations", body).json()["itemList"]
    assert [sorted(item) for item in items] == [["itemId"], ["itemId"]]


def test_campaign_and_recommender_together_are_refused(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "recommenderArn": POPULAR, "userId": "u1"}
    assert error_code(post(http, "/recommendations", body)) == (400, "InvalidInputException")


def test_neither_campaign_nor_recommender_is_refused(http: httpx.Client) -> None:
    assert error_code(post(http, "/recommendations", {"userId": "u1"})) == (
        400,
        "InvalidInputException",
    )


def test_user_personalization_without_user_is_refused(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "itemId": "i1"}
    response = post(http, "/recommendations", body)
    assert (error_code(response), "userId is required" in response.json()["message"]) == (
        (400, "InvalidInputException"),
        True,
    )


def test_similar_items_without_item_is_refused(http: httpx.Client) -> None:
    body = {"campaignArn": SIMILAR, "userId": "u1"}
    response = post(http, "/recommendations", body)
    assert (error_code(response), "itemId is required" in response.json()["message"]) == (
        (400, "InvalidInputException"),
        True,
    )


def test_ranking_campaign_is_refused_by_get_recommendations(http: httpx.Client) -> None:
    body = {"campaignArn": RANKING, "userId": "u1"}
    assert error_code(post(http, "/recommendations", body)) == (400, "InvalidInputException")


def test_recommender_arn_given_as_campaign_arn_is_refused(http: httpx.Client) -> None:
    body = {"campaignArn": POPULAR, "userId": "u1"}
    assert error_code(post(http, "/recommendations", body)) == (400, "InvalidInputException")


def test_other_campaigns_are_refused_by_personalized_ranking(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "userId": "u1", "inputList": ["i1"]}
    assert error_code(post(http, "/personalize-ranking", body)) == (400, "InvalidInputException")


def test_recommender_is_refused_by_personalized_ranking(http: httpx.Client) -> None:
    body = {"campaignArn": POPULAR, "userId": "u1", "inputList": ["i1"]}
    assert error_code(post(http, "/personalize-ranking", body)) == (400, "InvalidInputException")


def test_unknown_filter_is_not_found(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "userId": "u1", "filterArn": CATEGORY + "-x"}
    assert error_code(post(http, "/recommendations", body)) == (404, "ResourceNotFoundException")


def test_missing_filter_value_is_invalid_input(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "userId": "u1", "filterArn": CATEGORY}
    assert error_code(post(http, "/recommendations", body)) == (400, "InvalidInputException")


def test_filter_keeps_only_matching_items(http: httpx.Client) -> None:
    body = {
        "recommenderArn": POPULAR,
        "filterArn": CATEGORY,
        "filterValues": {"CATEGORY": '"outdoor","accessories"'},
    }
    items = post(http, "/recommendations", body).json()["itemList"]
    assert sorted(item["itemId"] for item in items) == ["i3", "i4", "i5", "i6"]


def test_metadata_columns_return_the_requested_columns(http: httpx.Client) -> None:
    body = {
        "campaignArn": SIMILAR,
        "itemId": "i1",
        "numResults": 1,
        "metadataColumns": {"ITEMS": ["TITLE", "price"]},
    }
    item = post(http, "/recommendations", body).json()["itemList"][0]
    assert item["metadata"] == {
        "TITLE": ITEMS[item["itemId"]]["TITLE"],
        "price": ITEMS[item["itemId"]]["PRICE"],
    }


def test_unknown_metadata_column_is_refused(http: httpx.Client) -> None:
    body = {"campaignArn": SIMILAR, "itemId": "i1", "metadataColumns": {"ITEMS": ["COLOUR"]}}
    response = post(http, "/recommendations", body)
    assert (error_code(response), "'COLOUR'" in response.json()["message"]) == (
        (400, "InvalidInputException"),
        True,
    )


def test_promotion_fills_its_share_from_its_filter(http: httpx.Client) -> None:
    body = {
        "recommenderArn": POPULAR,
        "numResults": 4,
        "filterArn": CATEGORY,
        "filterValues": {"CATEGORY": '"shoes","outdoor"'},
        "promotions": [
            {
                "name": "cheap",
                "percentPromotedItems": 50,
                "filterArn": MAX_PRICE,
                "filterValues": {"MAX_PRICE": "15"},
            }
        ],
    }
    items = post(http, "/recommendations", body).json()["itemList"]
    promoted = sorted(item["itemId"] for item in items if item.get("promotionName") == "cheap")
    others = sorted(item["itemId"] for item in items if "promotionName" not in item)
    assert (promoted, len(others), set(others) <= {"i1", "i2", "i3", "i4"}) == (
        ["i5", "i6"],
        2,
        True,
    )


def test_promotion_without_a_name_is_refused(http: httpx.Client) -> None:
    body = {"recommenderArn": POPULAR, "promotions": [{"percentPromotedItems": 50}]}
    assert error_code(post(http, "/recommendations", body)) == (400, "InvalidInputException")


def test_ranking_appends_unknown_items_scored_zero(http: httpx.Client) -> None:
    body = {"campaignArn": RANKING, "userId": "u1", "inputList": ["new", "i5", "i2"]}
    ranking = post(http, "/personalize-ranking", body).json()["personalizedRanking"]
    assert (sorted(item["itemId"] for item in ranking[:2]), ranking[2]) == (
        ["i2", "i5"],
        {"itemId": "new", "score": 0.0},
    )


def test_ranking_applies_the_filter(http: httpx.Client) -> None:
    body = {
        "campaignArn": RANKING,
        "userId": "u1",
        "inputList": ["i1", "i3", "i5"],
        "filterArn": CATEGORY,
        "filterValues": {"CATEGORY": '"shoes"'},
    }
    ranking = post(http, "/personalize-ranking", body).json()["personalizedRanking"]
    assert [item["itemId"] for item in ranking] == ["i1"]


def test_events_without_user_are_tied_to_the_session(http: httpx.Client) -> None:
    events = {
        "trackingId": CONFIG.tracking_id,
        "sessionId": "app-session-1",
        "eventList": [{"eventType": "view", "itemId": "i3", "sentAt": 2_000.5}],
    }
    post(http, "/events", events)
    history = http.get("/_emulator/history/app-session-1").json()
    assert history == {
        "user_id": "app-session-1",
        "interactions": [
            {"item_id": "i3", "timestamp": 2000, "event_type": "view", "event_value": None}
        ],
    }


def test_put_events_sent_twice_with_the_same_event_ids_records_them_once(
    http: httpx.Client,
) -> None:
    events = {
        "trackingId": CONFIG.tracking_id,
        "userId": "retrying-user",
        "sessionId": "s",
        "eventList": [
            {"eventType": "view", "itemId": "i1", "sentAt": 2_000, "eventId": "e-1"},
            {"eventType": "view", "itemId": "i2", "sentAt": 2_001, "eventId": "e-2"},
        ],
    }
    post(http, "/events", events)

    post(http, "/events", events)

    history = http.get("/_emulator/history/retrying-user").json()["interactions"]
    assert [interaction["item_id"] for interaction in history] == ["i1", "i2"]


def test_put_events_without_event_ids_records_each_call(http: httpx.Client) -> None:
    events = {
        "trackingId": CONFIG.tracking_id,
        "userId": "unidentified-user",
        "sessionId": "s",
        "eventList": [{"eventType": "view", "itemId": "i1", "sentAt": 2_000}],
    }
    post(http, "/events", events)

    post(http, "/events", events)

    history = http.get("/_emulator/history/unidentified-user").json()["interactions"]
    assert [interaction["item_id"] for interaction in history] == ["i1", "i1"]


def test_put_events_answers_200_with_an_empty_body(http: httpx.Client) -> None:
    events = {
        "trackingId": CONFIG.tracking_id,
        "userId": "app-user-1",
        "sessionId": "s",
        "eventList": [{"eventType": "view", "itemId": "i1", "sentAt": 2_000}],
    }
    response = post(http, "/events", events)
    assert (response.status_code, response.content) == (200, b"")


def test_unknown_tracking_id_is_not_found(http: httpx.Client) -> None:
    events = {
        "trackingId": "nope",
        "sessionId": "s",
        "eventList": [{"eventType": "v", "sentAt": 1}],
    }
    assert error_code(post(http, "/events", events)) == (404, "ResourceNotFoundException")


def test_put_items_to_another_dataset_is_not_found(http: httpx.Client) -> None:
    body = {
        "datasetArn": "arn:aws:personalize:us-east-1:000000000000:dataset/other/ITEMS",
        "items": [{"itemId": "i9"}],
    }
    assert error_code(post(http, "/items", body)) == (404, "ResourceNotFoundException")


def test_put_items_with_properties_that_are_not_an_object_is_invalid_input(
    http: httpx.Client,
) -> None:
    body = {
        "datasetArn": CONFIG.dataset_arn("ITEMS"),
        "items": [{"itemId": "i9", "properties": "[1]"}],
    }
    assert error_code(post(http, "/items", body)) == (400, "InvalidInputException")


def test_action_recommendations_refuse_an_item_campaign(http: httpx.Client) -> None:
    body = {"campaignArn": PERSONALIZATION, "userId": "u1"}
    assert error_code(post(http, "/action-recommendations", body)) == (
        400,
        "InvalidInputException",
    )


@pytest.mark.usefixtures("faults")
def test_faults_can_be_set_over_http(http: httpx.Client) -> None:
    http.put("/_emulator/faults", json={"latency_ms": 1, "throttle_rate": 0.5})
    assert http.get("/_emulator/faults").json() == {
        "latency_ms": 1.0,
        "jitter_ms": 0.0,
        "throttle_rate": 0.5,
        "error_rate": 0.0,
    }


def test_invalid_fault_setting_is_refused(http: httpx.Client) -> None:
    response = http.put("/_emulator/faults", json={"error_rate": 3})
    assert (response.status_code, response.json()) == (
        400,
        {"message": "error_rate must be between 0 and 1, got 3"},
    )


@pytest.mark.usefixtures("faults")
def test_throttled_call_is_a_throttling_exception(
    http: httpx.Client, personalize: LocalPersonalize
) -> None:
    personalize.faults.throttle_rate = 1.0
    response = post(http, "/recommendations", {"recommenderArn": POPULAR})
    assert (error_code(response), response.json()) == (
        (400, "ThrottlingException"),
        {"message": "Rate exceeded"},
    )


@pytest.mark.usefixtures("faults")
def test_injected_errors_alternate_500_and_503(
    http: httpx.Client, personalize: LocalPersonalize
) -> None:
    personalize.faults.error_rate = 1.0
    responses = [post(http, "/recommendations", {"recommenderArn": POPULAR}) for _ in range(2)]
    assert sorted(error_code(response) for response in responses) == [
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ]


def test_stats_count_calls_and_keep_the_last_request(http: httpx.Client) -> None:
    http.post("/_emulator/stats/reset")
    post(http, "/recommendations", {"recommenderArn": POPULAR, "numResults": 1})
    post(http, "/recommendations", {"recommenderArn": POPULAR, "numResults": 2})
    assert http.get("/_emulator/stats").json() == {
        "calls": {"GetRecommendations": 2},
        "last_requests": {"GetRecommendations": {"recommenderArn": POPULAR, "numResults": 2}},
    }


def test_stats_reset_clears_the_counts(http: httpx.Client, personalize: LocalPersonalize) -> None:
    post(http, "/recommendations", {"recommenderArn": POPULAR})
    http.post("/_emulator/stats/reset")
    assert personalize.stats.calls("GetRecommendations") == 0


def test_healthz_answers_ok(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}


def test_item_images_are_served(http: httpx.Client) -> None:
    response = http.get("/images/items/i1.svg")
    assert (response.status_code, response.headers["content-type"]) == (200, "image/svg+xml")


def test_endpoint_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        _ = LocalPersonalize(small_model(), CONFIG).endpoint_url


def test_filter_on_a_column_the_items_lack_is_refused() -> None:
    config = EmulatorConfig.from_dict(
        {"filters": {"colour": 'INCLUDE ItemID WHERE Items.COLOUR IN ("red")'}}
    )
    with pytest.raises(ValueError, match=r"filters\.colour: Items\.COLOUR is not a column"):
        LocalPersonalize(small_model(), config)


def test_stop_closes_the_port() -> None:
    personalize = LocalPersonalize(small_model(), CONFIG).start()
    url = personalize.endpoint_url
    personalize.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/healthz")
