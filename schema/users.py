"""Users, as a federation entity another subgraph owns: this one adds their recommendations."""

from __future__ import annotations

import strawberry

from schema import limits
from schema.context import Context
from schema.recommendations import (
    Contexts,
    Filter,
    NumResults,
    Promotion,
    RecommendationList,
    get_recommendations,
)


async def get_user_recommendations(
    root: User,
    info: strawberry.Info[Context, None],
    num_results: NumResults = limits.DEFAULT_NUM_RESULTS,
    filter: Filter = None,
    context: Contexts = None,
    promotion: Promotion = None,
) -> RecommendationList:
    """`Query.recommendations` for this user: the same arguments, rules and upstream call."""
    return await get_recommendations(info, root.id, num_results, filter, context, promotion)


@strawberry.federation.type(
    keys=["id"],
    description="A user of your apps. Another subgraph of the supergraph owns users; this one "
    "adds what Personalize recommends them.",
)
class User:
    id: strawberry.ID = strawberry.field(description="The user's id, as in your interactions data.")
    recommendations: RecommendationList = strawberry.field(
        resolver=get_user_recommendations,
        description="Items recommended for this user, as `Query.recommendations` gives them.",
    )

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        """The user a supergraph names in `_entities`: the id is all this subgraph needs."""
        return cls(id=id)
