"""The local Personalize's ASGI app: Personalize's REST-JSON wire protocol over the local model.

Routes come from botocore's service models, so every operation of `personalize-runtime` and
`personalize-events` answers at its real path. GetRecommendations, GetPersonalizedRanking,
PutEvents, PutItems and PutUsers work; the other operations validate their input and answer with
the error Personalize would give for resources this emulator does not have. Errors have AWS's
shape (status, `x-amzn-ErrorType`, `{"message": ...}`) so botocore raises ClientError with the
right code.

For tests and benchmarks (not part of Personalize, never faulted or counted):
    GET  /_emulator/faults           {"latency_ms", "jitter_ms", "throttle_rate", "error_rate"}
    PUT  /_emulator/faults           change some of them while running
    GET  /_emulator/stats            {"calls": {operation: n}, "last_requests": {operation: body}}
    POST /_emulator/stats/reset
    GET  /_emulator/history/{user}   the user's interactions, recorded events included
    GET  /healthz, GET /images/items/{item_id}.svg
"""

from __future__ import annotations

import functools
import json
import logging
import math
import random
import re
import threading
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulator.config import Deployment, EmulatorConfig, Recipe
from emulator.dataset import Interaction
from emulator.event_ids import RecentEventIds
from emulator.faults import Faults
from emulator.filters import FilterValueError, ItemFilter, ItemPredicate
from emulator.validation import (
    ERROR_NAMESPACE,
    METADATA_DATASET_TYPE,
    Operation,
    ServiceError,
    invalid_input,
    operations,
    resource_not_found,
    validate_input,
)

if TYPE_CHECKING:
    from emulator.model import Model, ScoredItem

logger = logging.getLogger(__name__)

DEFAULT_NUM_RESULTS = 25
PROMOTED_ITEM_REASON = "Promoted item"
NULL_SESSION_ID = "null"
_JSON = "application/json"


class Stats:
    """Calls counted per operation name and the last request body of each (for tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._last_requests: dict[str, Any] = {}

    def record(self, operation: str, body: Any) -> None:
        with self._lock:
            self._calls[operation] += 1
            self._last_requests[operation] = body

    def calls(self, operation: str) -> int:
        """How many calls of `operation` arrived, whatever their answer (faults included)."""
        with self._lock:
            return self._calls[operation]

    def last_request(self, operation: str) -> Any:
        """The body of the last `operation` call (parsed JSON), or None."""
        with self._lock:
            return self._last_requests.get(operation)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"calls": dict(self._calls), "last_requests": dict(self._last_requests)}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._last_requests.clear()


@dataclass
class EmulatorState:
    """Everything the app serves from: the configuration, the trained model and the knobs."""

    config: EmulatorConfig
    model: Model
    faults: Faults = field(default_factory=Faults)
    stats: Stats = field(default_factory=Stats)
    event_ids: RecentEventIds = field(default_factory=RecentEventIds)

    @functools.cached_property
    def item_columns(self) -> frozenset[str]:
        """The columns of the Items dataset (upper-case), for metadataColumns."""
        return frozenset[str]().union(*self.model.items.values())


Handler = Callable[[EmulatorState, Mapping[str, Any]], dict[str, Any] | None]


def create_emulator_app(state: EmulatorState) -> Starlette:
    """The ASGI app of the local Personalize serving `state`."""
    routes: list[BaseRoute] = [
        Route(op.path, _operation_endpoint(state, op), methods=[op.method])
        for op in operations().values()
    ]
    routes += _admin_routes(state)
    routes.append(Route("/healthz", _healthz, methods=["GET"]))
    routes += _image_routes(state)
    return Starlette(
        routes=routes,
        exception_handlers={404: _unknown_operation, 405: _unknown_operation},
    )


# --- the wire protocol ------------------------------------------------------------------------


def _request_id() -> str:
    return str(uuid.uuid4())


def _json_response(payload: Any, status: int = 200) -> Response:
    body = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
    headers = {"x-amzn-RequestId": _request_id()}
    return Response(body, status_code=status, headers=headers, media_type=_JSON)


def _error_response(status: int, code: str, message: str) -> Response:
    headers = {"x-amzn-RequestId": _request_id(), "x-amzn-ErrorType": f"{code}:{ERROR_NAMESPACE}"}
    body = json.dumps({"message": message}).encode()
    return Response(body, status_code=status, headers=headers, media_type=_JSON)


async def _unknown_operation(request: Request, exc: Exception) -> Response:
    return _error_response(
        404,
        "UnknownOperationException",
        f"No Personalize operation is served at {request.method} {request.url.path}",
    )


def _operation_endpoint(
    state: EmulatorState, operation: Operation
) -> Callable[[Request], Awaitable[Response]]:
    handler = _HANDLERS.get(operation.name) or _unsupported
    name = operation.name

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        state.stats.record(name, body)
        injected = await state.faults.apply()
        if injected is not None:
            return _error_response(injected.status, injected.code, injected.message)
        try:
            if body is None:
                raise ServiceError("SerializationException", "The request body is not JSON")
            request_body = validate_input(name, body)
            return _json_response(handler(state, request_body))
        except ServiceError as error:
            return _error_response(error.status, error.code, error.message)
        except Exception:
            logger.exception("%s failed", name)
            return _error_response(500, "InternalServerError", "Internal server error")

    endpoint.__name__ = name
    return endpoint


# --- GetRecommendations -----------------------------------------------------------------------

Source = Callable[[int, ItemPredicate | None], "list[ScoredItem]"]


def _get_recommendations(state: EmulatorState, body: Mapping[str, Any]) -> dict[str, Any]:
    campaign_arn = body.get("campaignArn")
    recommender_arn = body.get("recommenderArn")
    if campaign_arn and recommender_arn:
        raise invalid_input("Provide either campaignArn or recommenderArn, not both.")
    if campaign_arn:
        deployment = _deployment(state.config, campaign_arn, "campaign")
    elif recommender_arn:
        deployment = _deployment(state.config, recommender_arn, "recommender")
    else:
        raise invalid_input("Either campaignArn or recommenderArn is required.")
    user_id: str | None = body.get("userId")
    item_id: str | None = body.get("itemId")
    source = _source(state.model, deployment, user_id, item_id)
    num_results: int = body.get("numResults", DEFAULT_NUM_RESULTS)
    columns = _metadata_columns(state, deployment, body.get("metadataColumns"))
    request = _FilterContext(
        state,
        user_id,
        # CurrentItem is the item of a related-items request, and only of those.
        item_id if deployment.recipe is Recipe.SIMILAR_ITEMS else None,
    )
    accept = request.filter(body.get("filterArn"), body.get("filterValues"))
    promotions = body.get("promotions") or ()
    if promotions:
        chosen = _promote(request, source, num_results, accept, promotions[0], body)
    else:
        chosen = [(scored, None) for scored in source(num_results, accept)]
    # Only user-personalization campaigns answer scores; domain recommenders, SIMS and
    # popularity-count do not:
    # https://docs.aws.amazon.com/personalize/latest/dg/how-recommendation-scoring-works.html
    with_score = deployment.kind == "campaign" and deployment.recipe is Recipe.USER_PERSONALIZATION
    reasons = deployment.options.reasons
    items = [
        _predicted_item(state, scored, with_score, columns, promotion, reasons)
        for scored, promotion in chosen
    ]
    return {"itemList": items, "recommendationId": _recommendation_id()}


def _deployment(config: EmulatorConfig, arn: str, kind: str) -> Deployment:
    deployment = config.find_deployment(arn)
    if deployment is None:
        raise resource_not_found(f"Resource {arn} does not exist.")
    if deployment.kind != kind:
        raise invalid_input(
            f"{arn} is a {deployment.kind} ARN; pass it as {deployment.kind}Arn, not {kind}Arn."
        )
    return deployment


def _source(
    model: Model, deployment: Deployment, user_id: str | None, item_id: str | None
) -> Source:
    recipe = deployment.recipe
    what = f"{deployment.kind} {deployment.arn} (recipe {recipe})"
    if recipe is Recipe.USER_PERSONALIZATION:
        if not user_id:
            raise invalid_input(f"userId is required for {what}.")
        weight = deployment.options.exploration_weight
        return lambda count, accept: model.recommend(user_id, count, accept, weight)
    if recipe is Recipe.SIMILAR_ITEMS:
        if not item_id:
            raise invalid_input(f"itemId is required for {what}.")
        return lambda count, accept: model.similar(item_id, count, accept)
    if recipe is Recipe.POPULARITY_COUNT:
        return model.popular
    raise invalid_input(
        f"{what} ranks items: call GetPersonalizedRanking with it, not GetRecommendations."
    )


class _FilterContext:
    """What the filters of one request are bound to: the user (history and metadata) and, for
    related items, the current item."""

    def __init__(self, state: EmulatorState, user_id: str | None, item_id: str | None) -> None:
        self.state = state
        self.history: Sequence[Interaction] = state.model.history(user_id) if user_id else ()
        self.user = state.model.user(user_id) if user_id else {}
        self.current_item = None if item_id is None else state.model.items.get(item_id, {})

    def filter(
        self, filter_arn: str | None, filter_values: Mapping[str, str] | None
    ) -> ItemFilter | None:
        if not filter_arn:
            return None
        expression = self.state.config.find_filter(filter_arn)
        if expression is None:
            raise resource_not_found(f"Resource {filter_arn} does not exist.")
        model = self.state.model
        try:
            return expression.bind(
                filter_values or {},
                items=model.items,
                history=self.history,
                index=model.index,
                current_item=self.current_item,
                user=self.user,
            )
        except FilterValueError as error:
            raise invalid_input(str(error)) from None


def _promote(
    request: _FilterContext,
    source: Source,
    num_results: int,
    accept: ItemPredicate | None,
    promotion: Mapping[str, Any],
    body: Mapping[str, Any],
) -> list[tuple[ScoredItem, str | None]]:
    """Fill a share of the slots from the promotion's filter, the rest from the request's.

    Promoted items keep their order among themselves and take random places among the others,
    and there are as many as the promotion's filter allows, as Personalize documents it:
    https://docs.aws.amazon.com/personalize/latest/dg/promoting-items.html. The promotion's
    filterArn is optional in the API reference (API_RS_Promotion.html): without one, every
    item qualifies.
    """
    name: str = promotion["name"]  # validation made name and percentPromotedItems required
    percent: int = promotion["percentPromotedItems"]
    promote = request.filter(promotion.get("filterArn"), promotion.get("filterValues"))
    promoted = source(math.ceil(num_results * percent / 100), promote)
    promoted_ids = {scored.item_id for scored in promoted}

    def accept_rest(item_id: str) -> bool:
        return item_id not in promoted_ids and (accept is None or accept(item_id))

    rest = source(num_results - len(promoted), accept_rest)
    total = len(promoted) + len(rest)
    # Seeded by the request so the same request places its promoted items the same way.
    rng = random.Random(json.dumps(body, sort_keys=True))
    places = set(rng.sample(range(total), len(promoted)))
    chosen: list[tuple[ScoredItem, str | None]] = []
    promoted_iter, rest_iter = iter(promoted), iter(rest)
    for position in range(total):
        if position in places:
            chosen.append((next(promoted_iter), name))
        else:
            chosen.append((next(rest_iter), None))
    return chosen


def _metadata_columns(
    state: EmulatorState,
    deployment: Deployment,
    metadata_columns: Mapping[str, Sequence[str]] | None,
) -> list[tuple[str, str]]:
    """(requested name, dataset column) pairs for the ITEMS columns asked for.

    Metadata comes only from a campaign or recommender with metadata enabled
    (enableMetadataWithRecommendations):
    https://docs.aws.amazon.com/personalize/latest/dg/getting-recommendations-with-metadata.html
    """
    if not metadata_columns:
        return []
    if not deployment.options.metadata:
        raise invalid_input(
            f"metadataColumns requires metadata in recommendations to be enabled for "
            f"{deployment.kind} {deployment.arn}; enable it (enableMetadataWithRecommendations) "
            "or leave metadataColumns out."
        )
    known = state.item_columns
    pairs: list[tuple[str, str]] = []
    for requested in metadata_columns.get(METADATA_DATASET_TYPE, ()):
        column = requested.upper()
        if column not in known:
            raise invalid_input(
                f"metadataColumns: {requested!r} is not a column of the Items dataset "
                f"(columns: {', '.join(sorted(known))})."
            )
        pairs.append((requested, column))
    return pairs


def _predicted_item(
    state: EmulatorState,
    scored: ScoredItem,
    with_score: bool,
    columns: Sequence[tuple[str, str]],
    promotion: str | None = None,
    reasons: bool = False,
) -> dict[str, Any]:
    item: dict[str, Any] = {"itemId": scored.item_id}
    if with_score and scored.score is not None:
        item["score"] = scored.score
    if promotion is not None:
        item["promotionName"] = promotion
        if reasons:
            item["reason"] = [PROMOTED_ITEM_REASON]
    if columns:
        metadata = state.model.items.get(scored.item_id, {})
        item["metadata"] = {
            requested: metadata[column] for requested, column in columns if column in metadata
        }
    return item


def _recommendation_id() -> str:
    return f"RID-{uuid.uuid4()}"


# --- GetPersonalizedRanking -------------------------------------------------------------------


def _get_personalized_ranking(state: EmulatorState, body: Mapping[str, Any]) -> dict[str, Any]:
    arn: str = body["campaignArn"]
    deployment = _deployment(state.config, arn, "campaign")
    if deployment.recipe is not Recipe.PERSONALIZED_RANKING:
        raise invalid_input(
            f"campaign {arn} (recipe {deployment.recipe}) does not rank items: "
            "GetPersonalizedRanking needs a campaign with a personalized-ranking recipe."
        )
    user_id: str = body["userId"]
    accept = _FilterContext(state, user_id, None).filter(
        body.get("filterArn"), body.get("filterValues")
    )
    columns = _metadata_columns(state, deployment, body.get("metadataColumns"))
    ranked = state.model.rank(user_id, body["inputList"])
    if accept is not None:
        ranked = [scored for scored in ranked if accept(scored.item_id)]
    items = [_predicted_item(state, scored, True, columns) for scored in ranked]
    return {"personalizedRanking": items, "recommendationId": _recommendation_id()}


# --- PutEvents --------------------------------------------------------------------------------


def _put_events(state: EmulatorState, body: Mapping[str, Any]) -> None:
    tracking_id: str = body["trackingId"]
    if tracking_id not in state.config.tracking_ids:
        raise resource_not_found(f"Event tracker with tracking id {tracking_id} does not exist.")
    if body["sessionId"] == NULL_SESSION_ID:
        # Personalize answers 200 and records nothing for the session id "null":
        # https://github.com/aws/aws-sdk-js/issues/3371
        return None
    # Personalize ties the events of a session without a user to the session id.
    user_id: str = body.get("userId") or body["sessionId"]
    for event in body["eventList"]:
        item_id = event.get("itemId")
        if item_id is None:
            continue
        # Personalize keeps the first event of an id: a retried call records nothing twice.
        event_id = event.get("eventId")
        if event_id is not None and not state.event_ids.add(user_id, event_id):
            continue
        value = event.get("eventValue")
        interaction = Interaction(
            user_id=user_id,
            item_id=item_id,
            timestamp=int(event["sentAt"]),
            event_type=event["eventType"],
            event_value=None if value is None else float(value),
        )
        state.model.record(interaction)
    return None


# --- PutItems and PutUsers ---------------------------------------------------------------------


def _put_items(state: EmulatorState, body: Mapping[str, Any]) -> None:
    _dataset(state, body["datasetArn"], "ITEMS")
    known = state.item_columns
    items = [
        (item["itemId"], _properties(item.get("properties"), "items")) for item in body["items"]
    ]
    for item_id, columns in items:
        unknown = sorted(columns.keys() - known)
        if known and unknown:
            raise invalid_input(
                f"items: {item_id!r} has the property {unknown[0]!r}, which is not a field of the "
                f"Items dataset (fields: {', '.join(sorted(known))})"
            )
    for item_id, columns in items:
        state.model.put_item(item_id, columns)
    return None


def _put_users(state: EmulatorState, body: Mapping[str, Any]) -> None:
    _dataset(state, body["datasetArn"], "USERS")
    for user in body["users"]:
        state.model.put_user(user["userId"], _properties(user.get("properties"), "users"))
    return None


def _dataset(state: EmulatorState, arn: str, dataset_type: Literal["ITEMS", "USERS"]) -> None:
    expected = state.config.dataset_arn(dataset_type)
    if arn != expected:
        raise resource_not_found(
            f"Resource {arn} does not exist: the {dataset_type.title()} dataset of the local "
            f"Personalize is {expected}."
        )


def _properties(raw: str | None, what: str) -> dict[str, str]:
    """The dataset columns of PutItems/PutUsers properties.

    Keys are the camel-case names of the schema's fields (numberOfRatings is NUMBER_OF_RATINGS),
    values are strings (several categorical values joined with |):
    https://docs.aws.amazon.com/personalize/latest/dg/API_UBS_Item.html
    """
    if raw is None:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise invalid_input(f"{what}: properties must be a JSON object string, got {raw!r}")
    columns: dict[str, str] = {}
    for key, value in parsed.items():
        if isinstance(value, (dict, list)) or value is None:
            raise invalid_input(
                f"{what}: property {key!r} must be a string or a number, got {value!r}"
            )
        if isinstance(value, bool):
            value = "true" if value else "false"
        columns[_CAMEL_BOUNDARY.sub("_", key).upper()] = str(value)
    return columns


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


# --- operations this emulator has no resources for --------------------------------------------


def _unsupported(state: EmulatorState, body: Mapping[str, Any]) -> None:
    if "datasetArn" in body:
        raise resource_not_found(
            f"Resource {body['datasetArn']} does not exist: the local Personalize reads its "
            "datasets from CSV files and has no dataset ARNs."
        )
    if "trackingId" in body:
        raise resource_not_found(
            f"Event tracker with tracking id {body['trackingId']} has no Action interactions "
            "dataset in the local Personalize."
        )
    arn = body.get("campaignArn")
    if arn is None:
        raise invalid_input("campaignArn is required.")
    if state.config.find_deployment(arn) is not None:
        raise invalid_input(f"{arn} does not deploy a PERSONALIZED_ACTIONS recipe.")
    raise resource_not_found(f"Resource {arn} does not exist.")


_HANDLERS: dict[str, Handler] = {
    "GetRecommendations": _get_recommendations,
    "GetPersonalizedRanking": _get_personalized_ranking,
    "PutEvents": _put_events,
    "PutItems": _put_items,
    "PutUsers": _put_users,
}


# --- administration, health and images --------------------------------------------------------


def _admin_routes(state: EmulatorState) -> list[BaseRoute]:
    async def get_faults(request: Request) -> Response:
        return _json_response(state.faults.as_dict())

    async def put_faults(request: Request) -> Response:
        try:
            changes = json.loads(await request.body())
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of fault settings")
            state.faults.update(changes)
        except ValueError as error:
            return _error_response(400, "InvalidInputException", str(error))
        return _json_response(state.faults.as_dict())

    async def get_stats(request: Request) -> Response:
        return _json_response(state.stats.snapshot())

    async def reset_stats(request: Request) -> Response:
        state.stats.reset()
        return _json_response(state.stats.snapshot())

    async def get_history(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        interactions = [
            {
                "item_id": interaction.item_id,
                "timestamp": interaction.timestamp,
                "event_type": interaction.event_type,
                "event_value": interaction.event_value,
            }
            for interaction in state.model.history(user_id)
        ]
        return _json_response({"user_id": user_id, "interactions": interactions})

    return [
        Route("/_emulator/faults", get_faults, methods=["GET"]),
        Route("/_emulator/faults", put_faults, methods=["PUT"]),
        Route("/_emulator/stats", get_stats, methods=["GET"]),
        Route("/_emulator/stats/reset", reset_stats, methods=["POST"]),
        Route("/_emulator/history/{user_id:path}", get_history, methods=["GET"]),
    ]


async def _healthz(request: Request) -> Response:
    return _json_response({"status": "ok"})


def _image_routes(state: EmulatorState) -> list[Route]:
    from emulator.images import image_routes

    return image_routes(lambda: state.model.items)
