"""The `Recommender` port on Amazon Personalize, through aiobotocore's personalize-runtime."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gateway.observations import Observer, Outcome, PersonalizeCall
from gateway.personalize.connections import Busy, ConnectionSlots
from gateway.personalize.errors import (
    RootField,
    not_available,
    translate_error,
    unset_note,
)
from schema.limits import MAX_RESULTS_WITH_METADATA
from schema.ports import (
    CatalogItem,
    FilterRequest,
    InvalidInput,
    PortError,
    PromotionRequest,
    Recommendation,
    Recommendations,
    ResourceNotFound,
    Throttled,
    Unavailable,
)

logger = logging.getLogger(__name__)

API_NAMES = {
    "get_recommendations": "GetRecommendations",
    "get_personalized_ranking": "GetPersonalizedRanking",
    "put_events": "PutEvents",
}


@dataclass(frozen=True, slots=True)
class ItemMetadata:
    """Item details asked of Personalize itself: `metadataColumns` of its Items dataset.

    `columns` are the Items dataset's columns to ask for; `describe` turns an item's id and
    the metadata Personalize returned (column, value pairs) into its details.
    """

    columns: tuple[str, ...]
    describe: Callable[[str, Iterable[tuple[str, Any]]], CatalogItem]


RECOMMENDATIONS = RootField("recommendations")
RELATED_ITEMS = RootField("relatedItems")
RANKING = RootField("ranking")


class PersonalizeRecommender:
    """Sends the schema's requests to Personalize and turns its answers and errors into the port's.

    `client` is a personalize-runtime client from the app's lifespan, shared by every request.
    Each ARN may be a campaign or a recommender (the request field follows the ARN); ranking takes
    a campaign only. An operation whose ARN is None raises ResourceNotFound: the operation does
    not exist on this gateway. `hints` says, per root field name (and FILTERS_HINT), where the
    operator configures its resource, for messages in development. `deadline` bounds each call
    in seconds, botocore's retries included (its timeouts bound single attempts only). In
    `production`, ResourceNotFound says nothing of the configuration: the log has the detail.
    With `metadata`, every request asks for the items' details as well (the campaigns and
    recommenders must have metadata enabled), and more than 50 results are refused first.
    With `slots` (shared by every recommender on `client`), waiting for a connection counts
    against the deadline too, and a call that waited for one and missed the deadline raises
    Busy.
    """

    def __init__(
        self,
        client: Any,
        *,
        recommendations_arn: str | None,
        related_items_arn: str | None,
        ranking_arn: str | None,
        deadline: float | None = None,
        production: bool = False,
        hints: Mapping[str, str] | None = None,
        observer: Observer | None = None,
        metadata: ItemMetadata | None = None,
        slots: ConnectionSlots | None = None,
    ) -> None:
        self._client = client
        self._slots = slots
        self._observer = observer
        self._metadata = metadata
        self._metadata_params = (
            {} if metadata is None else {"metadataColumns": {"ITEMS": list(metadata.columns)}}
        )
        self._deadline = deadline
        self._production = production
        self._hints = dict(hints or {})
        # The request field each ARN goes in, worked out once rather than on every call.
        self._recommendations = _target(recommendations_arn)
        self._related_items = _target(related_items_arn)
        self._ranking = None if ranking_arn is None else {"campaignArn": ranking_arn}

    async def recommend(
        self,
        *,
        user_id: str,
        num_results: int,
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
        promotion: PromotionRequest | None,
    ) -> Recommendations:
        target = self._require(self._recommendations, RECOMMENDATIONS)
        self._check_metadata_limit("numResults", num_results)
        params: dict[str, Any] = {**target, "userId": user_id, "numResults": num_results}
        params |= _filter_params(filter)
        if personalize_context:
            params["context"] = dict(personalize_context)
        if promotion is not None:
            params["promotions"] = [_promotion_params(promotion)]
        response = await self._call(RECOMMENDATIONS, "get_recommendations", params)
        return _recommendations(response, "itemList", self._metadata)

    async def related_items(
        self,
        *,
        item_id: str,
        user_id: str | None,
        num_results: int,
        filter: FilterRequest | None,
    ) -> Recommendations:
        target = self._require(self._related_items, RELATED_ITEMS)
        self._check_metadata_limit("numResults", num_results)
        params: dict[str, Any] = {**target, "itemId": item_id, "numResults": num_results}
        if user_id is not None:
            params["userId"] = user_id
        params |= _filter_params(filter)
        response = await self._call(RELATED_ITEMS, "get_recommendations", params)
        return _recommendations(response, "itemList", self._metadata)

    async def rank(
        self,
        *,
        user_id: str,
        item_ids: Sequence[str],
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
    ) -> Recommendations:
        target = self._require(self._ranking, RANKING)
        self._check_metadata_limit("items", len(item_ids))
        params: dict[str, Any] = {**target, "userId": user_id, "inputList": list(item_ids)}
        params |= _filter_params(filter)
        if personalize_context:
            params["context"] = dict(personalize_context)
        response = await self._call(RANKING, "get_personalized_ranking", params)
        return _recommendations(response, "personalizedRanking", self._metadata)

    def _check_metadata_limit(self, argument: str, count: int) -> None:
        if self._metadata is not None and count > MAX_RESULTS_WITH_METADATA:
            raise InvalidInput(
                f"{argument} is {count}, but at most {MAX_RESULTS_WITH_METADATA} items can be "
                "asked for at once here: item details come from Personalize's metadata, which "
                f"allows at most {MAX_RESULTS_WITH_METADATA} results."
            )

    async def _call(
        self, field: RootField, operation: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        params |= self._metadata_params
        deadline = asyncio.timeout(self._deadline)
        started = time.perf_counter() if self._observer is not None else 0.0
        waited = False
        try:
            async with deadline:
                if self._slots is None:
                    response: dict[str, Any] = await getattr(self._client, operation)(**params)
                else:
                    waited = self._slots.busy
                    async with self._slots:
                        response = await getattr(self._client, operation)(**params)
        except (ClientError, BotoCoreError, TimeoutError) as error:
            if waited and deadline.expired():
                logger.warning(
                    "Personalize call for %s waited for one of the %d connections and missed "
                    "the deadline of %g s",
                    field.name,
                    self._slots.size if self._slots is not None else 0,
                    self._deadline,
                )
                failure: PortError = Busy(
                    "The gateway is too busy to get an answer from Amazon Personalize within "
                    f"{self._deadline:g} s; retry later."
                )
            elif deadline.expired():
                logger.warning(
                    "Personalize call for %s gave no answer within the deadline of %g s",
                    field.name,
                    self._deadline,
                )
                failure = Unavailable(
                    f"Amazon Personalize did not answer within {self._deadline:g} s; retry later."
                )
            else:
                failure = translate_error(
                    field, error, production=self._production, hints=self._hints
                )
            if self._observer is not None:
                report_call(self._observer, operation, params, started, failure, error)
            raise failure from error
        if self._observer is not None:
            report_call(self._observer, operation, params, started, None, response)
        return response

    def _require(self, target: dict[str, str] | None, field: RootField) -> dict[str, str]:
        if target is None:
            raise not_available(
                field,
                f"{field.name} is not configured on this gateway: it has no Personalize campaign "
                f"or recommender for it{unset_note(self._hints.get(field.name))}.",
                production=self._production,
            )
        return target


def report_call(
    observer: Observer,
    operation: str,
    params: Mapping[str, Any],
    started: float,
    failure: PortError | None,
    answer: Mapping[str, Any] | Exception,
) -> None:
    """Tell `observer` of a call of `operation` begun at `started` (`time.perf_counter()`)."""
    seconds = time.perf_counter() - started
    if isinstance(answer, ClientError):
        answer = answer.response
    retries = (
        answer.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        if isinstance(answer, Mapping)
        else 0
    )
    if "campaignArn" in params:
        kind: str | None = "campaign"
    elif "recommenderArn" in params:
        kind = "recommender"
    else:
        kind = "event-tracker" if "trackingId" in params else None
    num_results = params.get("numResults")
    if num_results is None and "inputList" in params:
        num_results = len(params["inputList"])
    observer.personalize_call(
        PersonalizeCall(
            api=API_NAMES.get(operation, operation),
            outcome=outcome_of(failure),
            started_ns=time.time_ns() - int(seconds * 1e9),
            seconds=seconds,
            retries=int(retries),
            arn_kind=kind,
            num_results=num_results,
        )
    )


def outcome_of(failure: PortError | None) -> Outcome:
    """The metrics' word for how a call ended."""
    if failure is None:
        return "ok"
    if isinstance(failure, Throttled):
        return "throttled"
    if isinstance(failure, Unavailable):
        return "unavailable"
    if isinstance(failure, InvalidInput):
        return "invalid_input"
    if isinstance(failure, ResourceNotFound):
        return "not_found"
    return "error"


def _target(arn: str | None) -> dict[str, str] | None:
    if arn is None:
        return None
    return {"recommenderArn": arn} if ":recommender/" in arn else {"campaignArn": arn}


def _filter_params(filter: FilterRequest | None) -> dict[str, Any]:
    if filter is None:
        return {}
    params: dict[str, Any] = {"filterArn": filter.arn}
    if filter.values:
        params["filterValues"] = dict(filter.values)
    return params


def _promotion_params(promotion: PromotionRequest) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": promotion.name,
        "percentPromotedItems": promotion.percent_promoted_items,
    }
    return params | _filter_params(promotion.filter)


def _recommendations(
    response: Mapping[str, Any], list_key: str, metadata: ItemMetadata | None
) -> Recommendations:
    items = [
        Recommendation(
            entry["itemId"],
            entry.get("score"),
            entry.get("promotionName"),
            tuple(entry["reason"]) if "reason" in entry else (),
            None
            if metadata is None
            else metadata.describe(entry["itemId"], (entry.get("metadata") or {}).items()),
        )
        for entry in response.get(list_key, ())
    ]
    return Recommendations(response.get("recommendationId"), tuple(items))
