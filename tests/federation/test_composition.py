"""Our subgraph SDL composed with a products subgraph by Apollo's own composition library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schema import schema
from tests.nodejs import run_node

PRODUCTS = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key", "@shareable"])

type Query { products: [Item!]! }

type Item @key(fields: "id") {
  id: ID!
  title: String @shareable
  price: Float @shareable
  category: String @shareable
  brand: String
}
"""
PRODUCTS_WITH_ATTRIBUTES = PRODUCTS.replace("  brand: String\n", "  attributes: JSON\n") + (
    "\nscalar JSON\n"
)


@pytest.fixture(scope="module")
def our_sdl() -> str:
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.data is not None
    sdl: str = result.data["_service"]["sdl"]
    return sdl


def compose(node: str, directory: Path, **subgraphs: str) -> dict[str, Any]:
    path = directory / "subgraphs.json"
    path.write_text(json.dumps([{"name": name, "sdl": sdl} for name, sdl in subgraphs.items()]))
    composed: dict[str, Any] = run_node(node, "compose.mjs", str(path))
    return composed


def test_composition_accepts_item_fields_a_products_subgraph_shares(
    node: str, our_sdl: str, tmp_path: Path
) -> None:
    composed = compose(node, tmp_path, personalize=our_sdl, products=PRODUCTS)

    assert composed["errors"] == []


def test_composition_keeps_item_attributes_to_our_catalog(
    node: str, our_sdl: str, tmp_path: Path
) -> None:
    composed = compose(node, tmp_path, personalize=our_sdl, products=PRODUCTS_WITH_ATTRIBUTES)

    assert composed["errors"] == [
        'Non-shareable field "Item.attributes" is resolved from multiple subgraphs: it is '
        'resolved from subgraphs "personalize" and "products" and defined as non-shareable in '
        "all of them"
    ]
