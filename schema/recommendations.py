"""Recommendations from Personalize: for a user, related to an item, or a ranking of given items."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Annotated, Final

import strawberry

from schema import limits, ports
from schema.context import Context
from schema.inputs import (
    ContextEntry,
    FilterInput,
    PromotionInput,
    to_context,
    to_filter_request,
    to_promotion_request,
    validate_length,
    validate_num_results,
    validate_ranking_items,
)
from schema.items import Item
from schema.selections import selects


@strawberry.enum(description="Who produced a list of recommendations.")
class RecommendationSource(enum.Enum):
    PERSONALIZE = strawberry.enum_value(
        "PERSONALIZE", description="Amazon Personalize, personalized for the request."
    )
    FALLBACK = strawberry.enum_value(
        "FALLBACK",
        description="The gateway's stand-in (e.g. popular items) while Personalize could not "
        "answer; not personalized.",
    )


@strawberry.type(description="One recommended item, in the order Personalize ranked it.")
class RecommendedItem:
    item_id: strawberry.ID = strawberry.field(description="The recommended item's id.")
    score: float | None = strawberry.field(
        description="How strongly Personalize recommends it, from 0 to 1; null when it has no "
        "score (e.g. an item unknown to the model in a ranking)."
    )
    promotion_name: str | None = strawberry.field(
        description="The promotion that placed this item, if a promotion did."
    )
    reasons: list[str] = strawberry.field(
        description="Why Personalize recommends it, when the recipe says (may be empty)."
    )
    # Filled in by the root field when the query selects it: from Personalize's own item
    # metadata (metadataColumns) or from the query's one catalog batch.
    item: Item | None = strawberry.field(
        default=None,
        description="The item's details from the catalog; null when the catalog does not have "
        "it or cannot answer (then the query has a CATALOG_UNAVAILABLE error).",
    )

    @classmethod
    def from_port(
        cls, recommendation: ports.Recommendation, item: ports.CatalogItem | None = None
    ) -> RecommendedItem:
        return cls(
            item_id=strawberry.ID(recommendation.item_id),
            score=recommendation.score,
            promotion_name=recommendation.promotion_name,
            reasons=list(recommendation.reasons),
            item=None if item is None else Item.from_catalog(item),
        )


@strawberry.type(description="A list of recommended items, best first.")
class RecommendationList:
    recommendation_id: str | None = strawberry.field(
        description="Personalize's id for this list; send it back with the events it leads to."
    )
    items: list[RecommendedItem] = strawberry.field(description="The items, best first.")
    source: RecommendationSource = strawberry.field(description="Who produced this list.")

    @classmethod
    def from_port(
        cls,
        recommendations: ports.Recommendations,
        catalog_items: Sequence[ports.CatalogItem | None] | None = None,
    ) -> RecommendationList:
        """The list, with each item's catalog entry from `catalog_items` (in the same order)."""
        entries = catalog_items or [None] * len(recommendations.items)
        return cls(
            recommendation_id=recommendations.recommendation_id,
            items=[
                RecommendedItem.from_port(item, entry)
                for item, entry in zip(recommendations.items, entries, strict=True)
            ],
            source=RecommendationSource(recommendations.source.value),
        )


# Where `item` sits below a root field that answers a RecommendationList.
ITEM_PATH: Final = ("items", "item")


async def recommendation_list(
    info: strawberry.Info[Context, None], recommendations: ports.Recommendations
) -> RecommendationList:
    """The list a root field answers, with its items' details when the query selects `item`:
    Personalize's own where it gave them (metadataColumns), else from the catalog in the
    query's shared batch."""
    if not recommendations.items or not selects(info._raw_info, ITEM_PATH):
        return RecommendationList.from_port(recommendations)
    details = [item.details for item in recommendations.items]
    wanted = [index for index, found in enumerate(details) if found is None]
    if wanted:
        base = info.path.as_list()
        loaded = await info.context.load_items(
            [recommendations.items[index].item_id for index in wanted],
            [[*base, "items", index, "item"] for index in wanted],
        )
        for index, found in zip(wanted, loaded, strict=True):
            details[index] = found
    return RecommendationList.from_port(recommendations, details)


UserId = Annotated[
    strawberry.ID,
    strawberry.argument(
        description=f"The user's id, as in your interactions data ({limits.MIN_ID_LENGTH} to "
        f"{limits.MAX_ID_LENGTH} characters)."
    ),
]
NumResults = Annotated[
    int,
    strawberry.argument(
        description=f"How many items to return ({limits.MIN_NUM_RESULTS} to "
        f"{limits.MAX_NUM_RESULTS})."
    ),
]
Filter = Annotated[
    FilterInput | None,
    strawberry.argument(description="A filter to include or exclude items, chosen by name."),
]
Contexts = Annotated[
    list[ContextEntry] | None,
    strawberry.argument(
        description="Contextual metadata, such as the device, that can change the result "
        f"(at most {limits.MAX_CONTEXT_ENTRIES} entries)."
    ),
]
Promotion = Annotated[
    PromotionInput | None,
    strawberry.argument(description="Promote items picked by a filter in part of the list."),
]


async def get_recommendations(
    info: strawberry.Info[Context, None],
    user_id: UserId,
    num_results: NumResults = limits.DEFAULT_NUM_RESULTS,
    filter: Filter = None,
    context: Contexts = None,
    promotion: Promotion = None,
) -> RecommendationList:
    ctx = info.context
    async with ctx.upstream_call():
        recommendations = await ctx.recommender.recommend(
            user_id=validate_length(
                "userId", ctx.identity.authorize_user("recommendations", user_id)
            ),
            num_results=validate_num_results(num_results),
            filter=to_filter_request(filter, ctx.filters),
            personalize_context=with_derived_context(ctx, "recommendations", to_context(context)),
            promotion=to_promotion_request(promotion, ctx.filters),
        )
    return await recommendation_list(info, recommendations)


async def get_related_items(
    info: strawberry.Info[Context, None],
    item_id: Annotated[
        strawberry.ID,
        strawberry.argument(
            description=f"The item to find related items for ({limits.MIN_ID_LENGTH} to "
            f"{limits.MAX_ID_LENGTH} characters)."
        ),
    ],
    user_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(
            description="The user looking, if known: lets filters use their history."
        ),
    ] = None,
    num_results: NumResults = limits.DEFAULT_NUM_RESULTS,
    filter: Filter = None,
) -> RecommendationList:
    ctx = info.context
    async with ctx.upstream_call():
        recommendations = await ctx.recommender.related_items(
            item_id=validate_length("itemId", item_id),
            user_id=None
            if user_id is None
            else validate_length("userId", ctx.identity.authorize_user("relatedItems", user_id)),
            num_results=validate_num_results(num_results),
            filter=to_filter_request(filter, ctx.filters),
        )
    return await recommendation_list(info, recommendations)


async def get_ranking(
    info: strawberry.Info[Context, None],
    user_id: UserId,
    items: Annotated[
        list[strawberry.ID],
        strawberry.argument(
            description=f"The ids of the items to rank ({limits.MIN_RANKING_ITEMS} to "
            f"{limits.MAX_RANKING_ITEMS}); items Personalize does not know come last."
        ),
    ],
    filter: Filter = None,
    context: Contexts = None,
) -> RecommendationList:
    ctx = info.context
    async with ctx.upstream_call():
        recommendations = await ctx.recommender.rank(
            user_id=validate_length("userId", ctx.identity.authorize_user("ranking", user_id)),
            item_ids=validate_ranking_items(items),
            filter=to_filter_request(filter, ctx.filters),
            personalize_context=with_derived_context(ctx, "ranking", to_context(context)),
        )
    return await recommendation_list(info, recommendations)


def with_derived_context(ctx: Context, field: str, explicit: Mapping[str, str]) -> dict[str, str]:
    """The context derived from the request for `field`, overridden key by key by the query's.

    Derived entries give way when they would take the map past Personalize's limit.
    """
    derived = ctx.derived_personalize_context.get(field, {})
    room = limits.MAX_CONTEXT_ENTRIES - len(explicit)
    extra = [(key, value) for key, value in derived.items() if key not in explicit][: max(room, 0)]
    return {**dict(extra), **explicit}
