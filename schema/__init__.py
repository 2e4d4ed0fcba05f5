"""The GraphQL API of the gateway: types, rules and the ports it needs from the outside world."""

from __future__ import annotations

from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxAliasesLimiter
from strawberry.types import ExecutionContext

from schema import limits
from schema.context import Context
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
from schema.items import Item, get_item
from schema.ports import (
    Catalog,
    CatalogItem,
    FilterRequest,
    PromotionRequest,
    Recommendation,
    Recommendations,
    RecommendationSource,
    Recommender,
)
from schema.recommendations import (
    RecommendationList,
    get_ranking,
    get_recommendations,
    get_related_items,
)


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


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log nothing here: MaskInternalErrors logs the unexpected errors, and only those."""


def build_schema(*, max_aliases: int = limits.DEFAULT_MAX_ALIASES) -> strawberry.Schema:
    """The schema, with errors coded and masked and at most `max_aliases` aliases a document."""
    return _Schema(
        query=Query,
        extensions=[MaskInternalErrors, partial(MaxAliasesLimiter, max_alias_count=max_aliases)],
    )


schema = build_schema()

__all__ = [
    "ERROR_CODES",
    "ApiError",
    "BadUserInput",
    "Catalog",
    "CatalogItem",
    "Context",
    "FilterRequest",
    "Forbidden",
    "MaskInternalErrors",
    "NotFound",
    "PromotionRequest",
    "Query",
    "Recommendation",
    "RecommendationSource",
    "Recommendations",
    "Recommender",
    "Unauthenticated",
    "UpstreamThrottled",
    "UpstreamUnavailable",
    "build_schema",
    "schema",
]
