"""The GraphQL API of the gateway: types, rules and the ports it needs from the outside world."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, Final

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.federation.schema import FederationAny
from strawberry.types import ExecutionContext, ExecutionResult, Info
from strawberry.types.graphql import OperationType

from schema import limits
from schema.context import Context
from schema.document_cache import document_caches
from schema.document_limits import document_limits
from schema.errors import (
    ERROR_CODES,
    ApiError,
    BadUserInput,
    Forbidden,
    MaskInternalErrors,
    NotFound,
    Unauthenticated,
    UpstreamThrottled,
    UpstreamUnavailable,
)
from schema.events import RecordEventsResult, record_events
from schema.identity import ANONYMOUS, UNRESTRICTED, Identity
from schema.items import Item, get_item
from schema.plans import Plans
from schema.ports import (
    Catalog,
    CatalogItem,
    Event,
    EventBatch,
    EventDelivery,
    EventFailure,
    EventSink,
    FilterRequest,
    PromotionRequest,
    Recommendation,
    Recommendations,
    RecommendationSource,
    Recommender,
    RecordedEvents,
)
from schema.recommendations import (
    RecommendationList,
    get_ranking,
    get_recommendations,
    get_related_items,
)
from schema.representations import check_representations, entity_keys
from schema.upstream_budget import UpstreamBudget
from schema.users import User


@strawberry.type(description="Recommendations from Amazon Personalize and the items they name.")
class Query:
    recommendations: RecommendationList = strawberry.field(
        resolver=get_recommendations,
        description="Items recommended for a user, based on what they did recently "
        "(new users get popular items).",
    )
    related_items: RecommendationList = strawberry.field(
        resolver=get_related_items,
        description="Items related to an item: what people who liked it also liked.",
    )
    ranking: RecommendationList = strawberry.field(
        resolver=get_ranking,
        description="Items your app already has, reordered for a user, most relevant first.",
    )
    item: Item | None = strawberry.field(
        resolver=get_item, description="One item of the catalog; null when it has no such item."
    )


@strawberry.type(description="Telling Personalize what users do.")
class Mutation:
    record_events: RecordEventsResult = strawberry.field(
        resolver=record_events,
        description="Record what a user did (views, purchases…) in Personalize's event tracker, "
        "so that their next recommendations follow it.",
    )


# Parsed and validated documents kept per process: apps send a few documents over and over, so
# a hit saves most of a request's CPU; the bound keeps unique documents from growing memory.
DOCUMENT_CACHE_SIZE: Final = 512

# The Apollo Federation version the subgraph SDL links: the oldest that has everything it uses
# (@key, @shareable), so that older routers and gateways compose it too.
FEDERATION_VERSION: Final = "2.0"


# Execution plans kept per process (schema/plans.py): one per document and operation seen.
PLAN_CACHE_SIZE: Final = DOCUMENT_CACHE_SIZE


class _Schema(strawberry.federation.Schema):
    """The schema, answering the documents it has planned without graphql-core's executor.

    A planned query skips the extensions' per-request hooks: what they do for such a query
    is done once (parsing, validation and the document limits passed when it was planned,
    and the upstream budget of a document without `_entities` depends on nothing else) or
    here (`masking` codes and masks the errors).
    """

    # The entities and their key fields, read from the types once rather than per `_entities`.
    _ENTITY_KEYS: Final = entity_keys(Item, User)

    def __init__(
        self,
        *,
        masking: Callable[[], MaskInternalErrors],
        plan_cache_size: int,
        extensions: list[Any],
        **options: Any,
    ) -> None:
        super().__init__(extensions=[*extensions, partial(_Planning, schema=self)], **options)
        self.plans = Plans(self._schema, plan_cache_size)
        self._masking = masking

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        plan = (
            self.plans.find(query, operation_name)
            # Anything else (a JSON list for a query…) is graphql-core's to refuse.
            if isinstance(query, str) and isinstance(operation_name, str | None)
            else None
        )
        if plan is not None and (
            allowed_operation_types is None or OperationType.QUERY in allowed_operation_types
        ):
            planned = await plan.execute(context_value, root_value, variable_values)
            if planned is not None:
                self._masking().finish(planned, context_value)
                return ExecutionResult(data=planned.data, errors=planned.errors, extensions={})
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log nothing here: MaskInternalErrors logs the unexpected errors, and only those."""

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        # Checked first: Strawberry would fail on a malformed one after starting the others.
        check_representations(representations, self._ENTITY_KEYS)
        return super().entities_resolver(info, representations)


class _Planning(SchemaExtension):
    """Plans each query that reaches execution: parsed, validated, within every limit."""

    def __init__(self, *, schema: _Schema) -> None:
        self._schema = schema

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if (
            context.result is None
            and context.query is not None
            and context.graphql_document is not None
            and context.operation_type == OperationType.QUERY
        ):
            self._schema.plans.learn(
                context.query, context.operation_name, context.graphql_document
            )
        yield


def build_schema(
    *,
    max_aliases: int = limits.DEFAULT_MAX_ALIASES,
    introspection: bool = True,
    max_depth: int = limits.DEFAULT_MAX_DEPTH,
    max_tokens: int = limits.DEFAULT_MAX_TOKENS,
    max_upstream_calls: int = limits.DEFAULT_MAX_UPSTREAM_CALLS,
    hide_suggestions: bool = False,
    show_error_details: bool = False,
    plan_cache_size: int = PLAN_CACHE_SIZE,
) -> strawberry.Schema:
    """The schema, its errors coded and masked, its documents within the `document_limits`.

    It is also an Apollo Federation v2 subgraph (`_service`, `_entities`, the `Item` and `User`
    entities); clients of the gateway alone can ignore that. `introspection=False` refuses
    `__schema` and `__type`, but not `_service { sdl }`, which a supergraph needs to compose.
    Production hides graphql-core's "Did you mean" hints; development may show unexpected
    errors' messages (`show_error_details`), never their tracebacks. The last
    `DOCUMENT_CACHE_SIZE` documents are kept parsed and validated (`document_caches`): each
    limit still holds, as a document over the token limit is never cached and a validation is
    reused only under the same rules. The last `plan_cache_size` queries that passed them get
    an execution plan (schema/plans.py); 0 runs every query through graphql-core.
    """
    masking = partial(
        MaskInternalErrors, hide_suggestions=hide_suggestions, show_details=show_error_details
    )
    extensions: list[Any] = [
        masking,
        *document_caches(DOCUMENT_CACHE_SIZE),
        *document_limits(
            max_depth=max_depth,
            max_aliases=max_aliases,
            max_tokens=max_tokens,
            introspection=introspection,
        ),
        partial(UpstreamBudget, max_calls=max_upstream_calls),
    ]
    return _Schema(
        query=Query,
        mutation=Mutation,
        types=[User],
        federation_version=FEDERATION_VERSION,
        extensions=extensions,
        masking=masking,
        plan_cache_size=plan_cache_size,
    )


schema = build_schema()


def export_sdl() -> str:
    """The schema's SDL, as `_service { sdl }` serves it to a supergraph, with a final newline.

    It is the whole schema, federation directives included: the committed `schema.graphql`
    (`personalize-gateway schema export > schema.graphql`).
    """
    return schema.as_str() + "\n"


__all__ = [
    "ANONYMOUS",
    "ERROR_CODES",
    "UNRESTRICTED",
    "ApiError",
    "BadUserInput",
    "Catalog",
    "CatalogItem",
    "Context",
    "Event",
    "EventBatch",
    "EventDelivery",
    "EventFailure",
    "EventSink",
    "FilterRequest",
    "Forbidden",
    "Identity",
    "MaskInternalErrors",
    "Mutation",
    "NotFound",
    "PromotionRequest",
    "Query",
    "Recommendation",
    "RecommendationSource",
    "Recommendations",
    "Recommender",
    "RecordedEvents",
    "Unauthenticated",
    "UpstreamThrottled",
    "UpstreamUnavailable",
    "build_schema",
    "export_sdl",
    "schema",
]
