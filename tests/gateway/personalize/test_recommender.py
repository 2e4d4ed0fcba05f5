"""PersonalizeRecommender on the real aiobotocore client, against the running local Personalize."""

import logging
import socket
from typing import Any

import pytest

from emulator import LocalPersonalize
from gateway.personalize.recommender import PersonalizeRecommender
from gateway.wiring import personalize_recommender
from schema.ports import FilterRequest, PromotionRequest, Recommendation, ResourceNotFound
from tests.gateway.conftest import Gateway, OpenGateway

RECOMMENDATIONS = '{ recommendations(userId: "u-01", numResults: 5) { items { itemId } } }'


def recommender(gateway: Gateway) -> PersonalizeRecommender:
    """The adapter alone on the app's client, without the fallback around it."""
    return personalize_recommender(gateway.state["personalize_runtime"], gateway.state["settings"])


def error_codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", ())]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_recommend_sends_campaign_arn_filter_context_and_promotion(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    config = personalize.config
    category = FilterRequest(config.filter_arn("category"), {"CATEGORY": '"shoes"'})
    cheap = FilterRequest(config.filter_arn("max-price"), {"MAX_PRICE": "40"})

    await recommender(gateway).recommend(
        user_id="u-01",
        num_results=4,
        filter=category,
        personalize_context={"DEVICE": "mobile"},
        promotion=PromotionRequest("cheap", 50, cheap),
    )

    assert personalize.stats.last_request("GetRecommendations") == {
        "campaignArn": config.campaign_arn("user-personalization"),
        "userId": "u-01",
        "numResults": 4,
        "filterArn": config.filter_arn("category"),
        "filterValues": {"CATEGORY": '"shoes"'},
        "context": {"DEVICE": "mobile"},
        "promotions": [
            {
                "name": "cheap",
                "percentPromotedItems": 50,
                "filterArn": config.filter_arn("max-price"),
                "filterValues": {"MAX_PRICE": "40"},
            }
        ],
    }


async def test_related_items_sends_recommender_arn_for_a_recommender(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    arn = personalize.config.recommender_arn("most-popular")
    async with open_gateway(related_items_arn=arn) as gateway:
        await recommender(gateway).related_items(
            item_id="i-001", user_id="u-02", num_results=3, filter=None
        )

    assert personalize.stats.last_request("GetRecommendations") == {
        "recommenderArn": arn,
        "itemId": "i-001",
        "userId": "u-02",
        "numResults": 3,
    }


async def test_recommend_maps_the_response(gateway: Gateway) -> None:
    result = await recommender(gateway).recommend(
        user_id="u-01", num_results=3, filter=None, personalize_context={}, promotion=None
    )

    assert (
        result.recommendation_id is not None,
        len(result.items),
        all(
            isinstance(item, Recommendation) and 0 <= (item.score or 0) <= 1
            for item in result.items
        ),
    ) == (True, 3, True)


async def test_rank_keeps_unknown_items_last_with_score_zero(gateway: Gateway) -> None:
    result = await recommender(gateway).rank(
        user_id="u-01",
        item_ids=["nobody-knows", "i-001", "i-002"],
        filter=None,
        personalize_context={},
    )

    assert (sorted(item.item_id for item in result.items[:2]), result.items[2]) == (
        ["i-001", "i-002"],
        Recommendation("nobody-knows", 0.0),
    )


async def test_unconfigured_field_is_not_found_naming_the_setting(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(ranking_arn=None) as gateway:
        with pytest.raises(ResourceNotFound) as caught:
            await recommender(gateway).rank(
                user_id="u-01", item_ids=["i-1"], filter=None, personalize_context={}
            )

    assert caught.value.message == (
        "ranking is not configured on this gateway: it has no Personalize campaign or "
        "recommender for it (GATEWAY_RANKING_ARN is not set)."
    )


async def test_throttling_is_upstream_throttled(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.throttle_rate = 1.0

    result = await gateway.query(RECOMMENDATIONS)

    assert (result["data"], error_codes(result)) == (None, ["UPSTREAM_THROTTLED"])


async def test_server_error_is_upstream_unavailable(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.error_rate = 1.0

    result = await gateway.query(RECOMMENDATIONS)

    assert (result["data"], error_codes(result)) == (None, ["UPSTREAM_UNAVAILABLE"])


async def test_server_errors_are_retried_up_to_max_attempts(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.error_rate = 1.0
    async with open_gateway(max_attempts=2) as gateway:
        await gateway.query(RECOMMENDATIONS)

    assert personalize.stats.calls("GetRecommendations") == 2


async def test_unknown_filter_arn_is_not_found(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    filters = {"gone": personalize.config.filter_arn("gone")}
    async with open_gateway(filters=filters) as gateway:
        result = await gateway.query(
            '{ recommendations(userId: "u-01", filter: {name: "gone"}) { items { itemId } } }'
        )

    assert (error_codes(result), result["errors"][0]["message"]) == (
        ["NOT_FOUND"],
        "The filter named in the request does not exist in Personalize "
        "(check the gateway's GATEWAY_FILTERS).",
    )


async def test_unknown_campaign_arn_is_not_found_naming_the_setting(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    arn = personalize.config.campaign_arn("retired")
    async with open_gateway(related_items_arn=arn) as gateway:
        result = await gateway.query('{ relatedItems(itemId: "i-001") { items { itemId } } }')

    assert (error_codes(result), result["errors"][0]["message"]) == (
        ["NOT_FOUND"],
        "The campaign configured for relatedItems does not exist in Personalize "
        "(check the gateway's GATEWAY_RELATED_ITEMS_ARN).",
    )


async def test_unconfigured_field_in_production_names_no_setting_but_logs_it(
    open_gateway: OpenGateway, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_gateway(ranking_arn=None, environment="production") as gateway:
        with caplog.at_level(logging.WARNING, logger="gateway.personalize.errors"):
            result = await gateway.query('{ ranking(userId: "u-01", items: ["i-001"]) { source } }')

    logged = [record.getMessage() for record in caplog.records if record.name.startswith("gateway")]
    assert error_codes(result) == ["NOT_FOUND"]
    assert result["errors"][0]["message"] == "ranking is not available on this gateway."
    assert any("GATEWAY_RANKING_ARN is not set" in message for message in logged), logged


async def test_unknown_campaign_arn_in_production_names_no_setting_but_logs_it(
    open_gateway: OpenGateway, personalize: LocalPersonalize, caplog: pytest.LogCaptureFixture
) -> None:
    arn = personalize.config.campaign_arn("retired")
    async with open_gateway(related_items_arn=arn, environment="production") as gateway:
        with caplog.at_level(logging.WARNING, logger="gateway.personalize.errors"):
            result = await gateway.query('{ relatedItems(itemId: "i-001") { source } }')

    logged = [record.getMessage() for record in caplog.records]
    assert error_codes(result) == ["NOT_FOUND"]
    assert result["errors"][0]["message"] == "relatedItems is not available on this gateway."
    assert any("GATEWAY_RELATED_ITEMS_ARN" in message for message in logged), logged


async def test_unknown_filter_arn_in_production_names_no_setting(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    filters = {"gone": personalize.config.filter_arn("gone")}
    async with open_gateway(filters=filters, environment="production") as gateway:
        result = await gateway.query(
            '{ recommendations(userId: "u-01", filter: {name: "gone"}) { source } }'
        )

    assert (error_codes(result), result["errors"][0]["message"]) == (
        ["NOT_FOUND"],
        "recommendations is not available on this gateway.",
    )


async def test_input_only_personalize_checks_is_bad_user_input(gateway: Gateway) -> None:
    result = await gateway.query(
        '{ recommendations(userId: "u-01", filter: {name: "category"}) { items { itemId } } }'
    )

    assert error_codes(result) == ["BAD_USER_INPUT"]
    assert "$CATEGORY" in result["errors"][0]["message"]


async def test_closed_port_is_upstream_unavailable(open_gateway: OpenGateway) -> None:
    async with open_gateway(
        personalize_endpoint_url=f"http://127.0.0.1:{closed_port()}"
    ) as gateway:
        result = await gateway.query(RECOMMENDATIONS)

    assert (result["data"], error_codes(result)) == (None, ["UPSTREAM_UNAVAILABLE"])
    assert result["errors"][0]["message"] == (
        "Amazon Personalize is unreachable (EndpointConnectionError); retry later."
    )
