"""Personalize's wire protocol as the SDKs see it: boto3 and aiobotocore against the emulator."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator import LocalPersonalize
from emulator.dataset import Dataset
from emulator.model import Model
from tests.emulator.default_config import (
    CATEGORY,
    CONFIG,
    EXCLUDE_PURCHASED,
    PERSONALIZATION,
    POPULAR,
    RANKING,
    SIMILAR,
    TRACKING_ID,
)

CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "test",
    "aws_secret_access_key": "test",
}
SDKS = ["boto3", "aiobotocore"]


@pytest.fixture(scope="module")
def personalize(sample_dataset: Dataset) -> Iterator[LocalPersonalize]:
    # A model of its own: PutEvents here must not move the shared sample model.
    with LocalPersonalize(Model.train(sample_dataset), CONFIG) as running:
        yield running


class Caller:
    """Calls one client's operations by name, awaiting when the client is asynchronous."""

    def __init__(self, client: Any, is_async: bool) -> None:
        self.client = client
        self.is_async = is_async

    async def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        result = getattr(self.client, operation)(**params)
        if self.is_async:
            result = await result
        return dict(result)


@dataclass
class Sdk:
    name: str
    endpoint_url: str

    @asynccontextmanager
    async def client(self, service: str, **config: Any) -> AsyncIterator[Caller]:
        if self.name == "boto3":
            client = boto3.client(
                service, endpoint_url=self.endpoint_url, config=Config(**config), **CREDENTIALS
            )
            try:
                yield Caller(client, is_async=False)
            finally:
                client.close()
        else:
            async with get_session().create_client(
                service, endpoint_url=self.endpoint_url, config=AioConfig(**config), **CREDENTIALS
            ) as client:
                yield Caller(client, is_async=True)


@dataclass
class Clients:
    sdk: Sdk
    runtime: Caller
    events: Caller
    unchecked_runtime: Caller  # botocore's client-side validation off, to reach the server
    unchecked_events: Caller


@pytest.fixture(scope="module", params=SDKS)
async def clients(
    request: pytest.FixtureRequest, personalize: LocalPersonalize
) -> AsyncIterator[Clients]:
    sdk = Sdk(request.param, personalize.endpoint_url)
    no_retries = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    async with AsyncExitStack() as stack:
        yield Clients(
            sdk,
            await stack.enter_async_context(sdk.client("personalize-runtime", **no_retries)),
            await stack.enter_async_context(sdk.client("personalize-events", **no_retries)),
            await stack.enter_async_context(
                sdk.client("personalize-runtime", parameter_validation=False, **no_retries)
            ),
            await stack.enter_async_context(
                sdk.client("personalize-events", parameter_validation=False, **no_retries)
            ),
        )


async def client_error(call: Caller, operation: str, **params: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        await call(operation, **params)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def item_ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["itemId"] for item in items]


def event(**changes: Any) -> dict[str, Any]:
    return {"eventType": "view", "itemId": "i-00001", "sentAt": time.time(), **changes}


# --- the three operations ---------------------------------------------------------------------


async def test_get_recommendations_returns_scored_items(clients: Clients) -> None:
    response = await clients.runtime(
        "get_recommendations", campaignArn=PERSONALIZATION, userId="u-00001", numResults=10
    )
    assert (
        len(response["itemList"]),
        all(0 <= item["score"] <= 1 for item in response["itemList"]),
        response["recommendationId"].startswith("RID-"),
    ) == (10, True, True)


async def test_get_recommendations_returns_metadata_columns(clients: Clients) -> None:
    response = await clients.runtime(
        "get_recommendations",
        campaignArn=SIMILAR,
        itemId="i-00001",
        numResults=3,
        metadataColumns={"ITEMS": ["CATEGORY"]},
    )
    assert [sorted(item["metadata"]) for item in response["itemList"]] == [["CATEGORY"]] * 3


async def test_get_recommendations_applies_filter_values(clients: Clients) -> None:
    response = await clients.runtime(
        "get_recommendations",
        recommenderArn=POPULAR,
        numResults=20,
        filterArn=CATEGORY,
        filterValues={"CATEGORY": '"home"'},
        metadataColumns={"ITEMS": ["CATEGORY"]},
    )
    assert {item["metadata"]["CATEGORY"] for item in response["itemList"]} == {"home"}


async def test_get_personalized_ranking_ranks_every_input_item(clients: Clients) -> None:
    items = ["i-00003", "i-00001", "not-in-the-catalog", "i-00002"]
    response = await clients.runtime(
        "get_personalized_ranking", campaignArn=RANKING, userId="u-00001", inputList=items
    )
    ranking = item_ids(response["personalizedRanking"])
    assert (sorted(ranking), ranking[-1]) == (sorted(items), "not-in-the-catalog")


async def test_put_events_records_the_events(
    clients: Clients, personalize: LocalPersonalize
) -> None:
    user_id = f"wire-{clients.sdk.name}-recorder"
    await clients.events(
        "put_events",
        trackingId=TRACKING_ID,
        userId=user_id,
        sessionId="session-1",
        eventList=[event(itemId="i-00007", eventType="cart", eventValue=2.5)],
    )
    assert [
        (interaction.item_id, interaction.event_type, interaction.event_value)
        for interaction in personalize.model.history(user_id)
    ] == [("i-00007", "cart", 2.5)]


async def test_purchase_is_excluded_by_the_exclude_purchased_filter(clients: Clients) -> None:
    user_id = f"wire-{clients.sdk.name}-buyer"
    request = {"recommenderArn": POPULAR, "userId": user_id, "numResults": 5}
    bought = item_ids((await clients.runtime("get_recommendations", **request))["itemList"])[0]
    await clients.events(
        "put_events",
        trackingId=TRACKING_ID,
        userId=user_id,
        sessionId="session-1",
        eventList=[event(itemId=bought, eventType="purchase")],
    )
    unfiltered = await clients.runtime("get_recommendations", **request)
    filtered = await clients.runtime("get_recommendations", filterArn=EXCLUDE_PURCHASED, **request)
    assert (
        bought in item_ids(unfiltered["itemList"]),
        bought in item_ids(filtered["itemList"]),
    ) == (
        True,
        False,
    )


async def test_viewing_items_lifts_their_related_items(clients: Clients) -> None:
    user_id = f"wire-{clients.sdk.name}-viewer"
    request = {"campaignArn": PERSONALIZATION, "userId": user_id, "numResults": 25}
    before = item_ids((await clients.runtime("get_recommendations", **request))["itemList"])
    viewed = "i-01000"
    related = await clients.runtime(
        "get_recommendations", campaignArn=SIMILAR, itemId=viewed, numResults=10
    )
    await clients.events(
        "put_events",
        trackingId=TRACKING_ID,
        userId=user_id,
        sessionId="session-1",
        eventList=[event(itemId=viewed)],
    )
    after = item_ids((await clients.runtime("get_recommendations", **request))["itemList"])
    wanted = set(item_ids(related["itemList"]))
    assert (len(wanted & set(before)), len(wanted & set(after)) > 0) == (0, True)


# --- errors -----------------------------------------------------------------------------------

LONG_ARN = "arn:aws:personalize:us-east-1:000000000000:campaign/"
LONG_ARN += "c" * (257 - len(LONG_ARN))
USER = {"campaignArn": PERSONALIZATION, "userId": "u-00001"}
RANK = {"campaignArn": RANKING, "userId": "u-00001", "inputList": ["i-00001"]}
ITEMS_METADATA = {"ITEMS": ["TITLE"]}
PROMOTION = {"name": "promo", "percentPromotedItems": 10}

RECOMMENDATIONS_OVER_LIMITS = {
    "numResults 501": {**USER, "numResults": 501},
    "numResults 51 with metadata": {**USER, "numResults": 51, "metadataColumns": ITEMS_METADATA},
    "numResults -1": {**USER, "numResults": -1},
    "campaignArn 257": {**USER, "campaignArn": LONG_ARN},
    "campaignArn pattern": {**USER, "campaignArn": "campaign/user-personalization"},
    "userId 257": {**USER, "userId": "u" * 257},
    "itemId 257": {"campaignArn": SIMILAR, "itemId": "i" * 257},
    "filterValues 26": {
        **USER,
        "filterArn": CATEGORY,
        "filterValues": {f"K{n}": '"x"' for n in range(26)},
    },
    "filterValues key 51": {**USER, "filterArn": CATEGORY, "filterValues": {"K" * 51: '"x"'}},
    "filterValues value 1001": {
        **USER,
        "filterArn": CATEGORY,
        "filterValues": {"CATEGORY": "x" * 1001},
    },
    "context 151": {**USER, "context": {f"K{n}": "v" for n in range(151)}},
    "context value 1001": {**USER, "context": {"DEVICE": "v" * 1001}},
    "context key pattern": {**USER, "context": {"DEVICE-TYPE": "phone"}},
    "promotions 2": {**USER, "promotions": [PROMOTION, PROMOTION]},
    "percentPromotedItems 101": {
        **USER,
        "promotions": [{**PROMOTION, "percentPromotedItems": 101}],
    },
    "percentPromotedItems 0": {**USER, "promotions": [{**PROMOTION, "percentPromotedItems": 0}]},
    "promotion name 64": {**USER, "promotions": [{**PROMOTION, "name": "p" * 64}]},
    "metadataColumns 100": {**USER, "metadataColumns": {"ITEMS": ["TITLE"] * 100}},
    "metadataColumns 2 types": {**USER, "metadataColumns": {"ITEMS": ["TITLE"], "USERS": ["AGE"]}},
}
RANKING_OVER_LIMITS = {
    "inputList 501": {**RANK, "inputList": ["i-00001"] * 501},
    "inputList 51 with metadata": {
        **RANK,
        "inputList": ["i-00001"] * 51,
        "metadataColumns": ITEMS_METADATA,
    },
    "inputList item 257": {**RANK, "inputList": ["i" * 257]},
    "userId 257": {**RANK, "userId": "u" * 257},
    "userId missing": {"campaignArn": RANKING, "inputList": ["i-00001"]},
}
EVENTS = {"trackingId": TRACKING_ID, "sessionId": "session-1"}
EVENTS_OVER_LIMITS = {
    "eventList 11": lambda: {**EVENTS, "eventList": [event()] * 11},
    "eventList 0": lambda: {**EVENTS, "eventList": []},
    "itemId 257": lambda: {**EVENTS, "eventList": [event(itemId="i" * 257)]},
    "itemId empty": lambda: {**EVENTS, "eventList": [event(itemId="")]},
    "impression 26": lambda: {**EVENTS, "eventList": [event(impression=["i"] * 26)]},
    "recommendationId 41": lambda: {**EVENTS, "eventList": [event(recommendationId="r" * 41)]},
    "properties 1025": lambda: {**EVENTS, "eventList": [event(properties="{" + " " * 1023 + "}")]},
    "properties not an object": lambda: {**EVENTS, "eventList": [event(properties="[]")]},
    "sessionId empty": lambda: {**EVENTS, "sessionId": "", "eventList": [event()]},
    "trackingId 257": lambda: {**EVENTS, "trackingId": "t" * 257, "eventList": [event()]},
    "eventType missing": lambda: {
        **EVENTS,
        "eventList": [{"itemId": "i-00001", "sentAt": time.time()}],
    },
}


@pytest.mark.parametrize(
    "params", RECOMMENDATIONS_OVER_LIMITS.values(), ids=list(RECOMMENDATIONS_OVER_LIMITS)
)
async def test_get_recommendations_over_a_limit_is_invalid_input(
    clients: Clients, params: dict[str, Any]
) -> None:
    error = await client_error(clients.unchecked_runtime, "get_recommendations", **params)
    assert error == (400, "InvalidInputException")


@pytest.mark.parametrize("params", RANKING_OVER_LIMITS.values(), ids=list(RANKING_OVER_LIMITS))
async def test_get_personalized_ranking_over_a_limit_is_invalid_input(
    clients: Clients, params: dict[str, Any]
) -> None:
    error = await client_error(clients.unchecked_runtime, "get_personalized_ranking", **params)
    assert error == (400, "InvalidInputException")


@pytest.mark.parametrize("params", EVENTS_OVER_LIMITS.values(), ids=list(EVENTS_OVER_LIMITS))
async def test_put_events_over_a_limit_is_invalid_input(clients: Clients, params: Any) -> None:
    error = await client_error(clients.unchecked_events, "put_events", **params())
    assert error == (400, "InvalidInputException")


async def test_num_results_just_over_the_limit_reaches_the_server_with_validation_on(
    clients: Clients,
) -> None:
    error = await client_error(clients.runtime, "get_recommendations", **USER, numResults=501)
    assert error == (400, "InvalidInputException")


async def test_validation_message_uses_the_service_wording(clients: Clients) -> None:
    with pytest.raises(ClientError) as caught:
        await clients.runtime("get_recommendations", **USER, numResults=501)
    assert caught.value.response["Error"]["Message"] == (
        "1 validation error detected: Value '501' at 'numResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 500"
    )


NOT_FOUND = {
    "unknown campaign": ("get_recommendations", {**USER, "campaignArn": PERSONALIZATION + "-x"}),
    "unknown recommender": ("get_recommendations", {"recommenderArn": POPULAR + "-x"}),
    "unknown filter": ("get_recommendations", {**USER, "filterArn": CATEGORY + "-x"}),
    "unknown ranking campaign": (
        "get_personalized_ranking",
        {**RANK, "campaignArn": RANKING + "-x"},
    ),
}


@pytest.mark.parametrize(("operation", "params"), NOT_FOUND.values(), ids=list(NOT_FOUND))
async def test_unknown_arn_is_resource_not_found(
    clients: Clients, operation: str, params: dict[str, Any]
) -> None:
    assert await client_error(clients.runtime, operation, **params) == (
        404,
        "ResourceNotFoundException",
    )


async def test_unknown_tracking_id_is_resource_not_found(clients: Clients) -> None:
    error = await client_error(
        clients.events, "put_events", trackingId="unknown", sessionId="s", eventList=[event()]
    )
    assert error == (404, "ResourceNotFoundException")


async def test_throttling_is_retried_then_raised(
    clients: Clients, personalize: LocalPersonalize
) -> None:
    retries = {"mode": "standard", "total_max_attempts": 3}
    async with clients.sdk.client("personalize-runtime", retries=retries) as runtime:
        personalize.stats.reset()
        personalize.faults.throttle_rate = 1.0
        try:
            error = await client_error(runtime, "get_recommendations", recommenderArn=POPULAR)
        finally:
            personalize.faults.reset()
    assert (error, personalize.stats.calls("GetRecommendations")) == (
        (400, "ThrottlingException"),
        3,
    )
