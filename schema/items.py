"""Items of the catalog, as apps show them."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from schema.context import Context
from schema.inputs import validate_length
from schema.ports import CatalogItem


# A federation entity: a products subgraph may own items too. The catalog's display fields are
# @shareable, so a supergraph accepts them from both; `attributes` (this catalog's own columns)
# stays ours alone.
@strawberry.federation.type(
    keys=["id"], description="An item of the catalog: what an app shows for a recommendation."
)
class Item:
    id: strawberry.ID = strawberry.field(description="The item's id, as Personalize knows it.")
    title: str | None = strawberry.federation.field(
        shareable=True, description="A short name to display."
    )
    description: str | None = strawberry.federation.field(
        shareable=True, description="A longer text about the item."
    )
    image_url: str | None = strawberry.federation.field(
        shareable=True,
        description="Where its picture is: an absolute URL or a path on this server.",
    )
    price: float | None = strawberry.federation.field(
        shareable=True, description="Its price, in the catalog's currency."
    )
    category: str | None = strawberry.federation.field(
        shareable=True, description="Its category, e.g. `shoes`."
    )
    attributes: JSON | None = strawberry.field(
        description="Every other column of the catalog, as a JSON object keyed by column name."
    )

    @classmethod
    def from_catalog(cls, item: CatalogItem) -> Item:
        return cls(
            id=strawberry.ID(item.id),
            title=item.title,
            description=item.description,
            image_url=item.image_url,
            price=item.price,
            category=item.category,
            attributes=JSON(dict(item.attributes)),
        )

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info[Context, None], id: strawberry.ID
    ) -> Item | None:
        """The item a supergraph names in `_entities`, through the request's loader.

        Every reference of one `_entities` call is looked up in the same catalog batch.
        """
        return await load_item(info, validate_length("id", id))


async def load_item(info: strawberry.Info[Context, None], item_id: str) -> Item | None:
    """The item through the request's loader, so every lookup in a query shares one batch."""
    found = await info.context.load_item(item_id, info.path.as_list())
    return None if found is None else Item.from_catalog(found)


async def get_item(
    info: strawberry.Info[Context, None],
    id: Annotated[strawberry.ID, strawberry.argument(description="The item's id.")],
) -> Item | None:
    return await load_item(info, validate_length("id", id))
