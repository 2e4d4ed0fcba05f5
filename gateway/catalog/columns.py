"""How a source's columns (attributes, JSON keys, metadata columns) become an item's fields."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schema.ports import CatalogItem

CATALOG_FIELDS = ("title", "description", "image_url", "price", "category")
DEFAULT_COLUMN_MAP: Mapping[str, str] = {
    "TITLE": "title",
    "DESCRIPTION": "description",
    "IMAGE_URL": "image_url",
    "PRICE": "price",
    "CATEGORY": "category",
}


def column_key(name: str) -> str:
    """A column's name as matched: `IMAGE_URL`, `image_url` and `imageUrl` are one column."""
    return name.replace("_", "").replace("-", "").upper()


@dataclass(frozen=True)
class ItemColumns:
    """Which of a source's columns are an item's fields, and which go into `attributes`.

    `fields` maps a column to a catalog field, as the items CSV's mapping does. `attributes`
    lists the other columns to keep; None keeps every other column. Names are matched without
    regard to case, `_` or `-`.
    """

    fields: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_COLUMN_MAP))
    attributes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "_by_key", {column_key(column): name for column, name in self.fields.items()}
        )
        kept = None if self.attributes is None else {column_key(a) for a in self.attributes}
        object.__setattr__(self, "_kept", kept)

    @property
    def columns(self) -> list[str]:
        """The columns a source needs to send: the fields' and the attributes' (if listed)."""
        return [*self.fields, *(self.attributes or ())]

    def item(self, item_id: str, record: Iterable[tuple[str, Any]]) -> CatalogItem:
        """The item `record` (column, value pairs; the id's column left out) describes."""
        by_key: Mapping[str, str] = self._by_key  # type: ignore[attr-defined]
        kept: set[str] | None = self._kept  # type: ignore[attr-defined]
        values: dict[str, Any] = {}
        attributes: dict[str, Any] = {}
        for column, value in record:
            key = column_key(column)
            name = by_key.get(key)
            if name is not None:
                values[name] = _field_value(name, value)
            elif value not in (None, "") and (kept is None or key in kept):
                attributes[column] = value
        return CatalogItem(id=item_id, **values, attributes=attributes)


def _field_value(name: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    if name != "price":
        return str(value)
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if math.isfinite(price) else None
