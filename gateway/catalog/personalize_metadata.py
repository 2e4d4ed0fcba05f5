"""No catalog of its own: item details come with the recommendations, from Personalize.

Personalize returns the Items dataset's columns with each recommended item when asked with
`metadataColumns` (on campaigns and recommenders with metadata enabled). The gateway's
Personalize adapter asks for them (`ItemMetadata`); this catalog answers the lookups nothing
came with, `item(id)` and `_entities`, with nothing: Personalize has no way to look an item up.
"""

from __future__ import annotations

from collections.abc import Sequence

from schema.ports import CatalogItem


class PersonalizeMetadataCatalog:
    """The `Catalog` port when the catalog is Personalize's item metadata: finds nothing."""

    def __init__(self) -> None:
        self.round_trips = 0

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """Nothing: an item can only be described when Personalize recommends it."""
        return {}

    async def ping(self) -> None:
        """Always ready: Personalize's own readiness is checked apart."""
