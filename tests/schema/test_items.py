from __future__ import annotations

from schema import Context, schema
from tests.schema.fakes import FakeCatalog

QUERY = """query Item($id: ID!) {
  item(id: $id) { id title description imageUrl price category attributes }
}"""


async def test_item_returns_every_catalog_field(context: Context) -> None:
    result = await schema.execute(QUERY, variable_values={"id": "i7"}, context_value=context)

    assert result.errors is None
    assert result.data == {
        "item": {
            "id": "i7",
            "title": "Item i7",
            "description": "About i7.",
            "imageUrl": "/images/items/i7.svg",
            "price": 10.5,
            "category": "shoes",
            "attributes": {"COLOR": "red"},
        }
    }


async def test_item_missing_from_catalog_is_null_without_error(context: Context) -> None:
    result = await schema.execute(QUERY, variable_values={"id": "i13"}, context_value=context)

    assert (result.errors, result.data) == (None, {"item": None})


async def test_item_aliases_share_one_catalog_call(context: Context, catalog: FakeCatalog) -> None:
    query = '{ a: item(id: "i1") { id } b: item(id: "i2") { id } c: item(id: "i1") { id } }'

    await schema.execute(query, context_value=context)

    assert catalog.calls == [["i1", "i2"]]


async def test_item_with_too_long_id_is_refused(context: Context, catalog: FakeCatalog) -> None:
    result = await schema.execute(QUERY, variable_values={"id": "i" * 257}, context_value=context)

    assert result.errors is not None
    assert [(error.message, error.extensions) for error in result.errors] == [
        ("id must be 1 to 256 characters long, got 257.", {"code": "BAD_USER_INPUT"})
    ]
    assert catalog.calls == []
