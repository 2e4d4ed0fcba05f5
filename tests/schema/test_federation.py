"""The schema as an Apollo Federation v2 subgraph: `_service` and `_entities`."""

from __future__ import annotations

from schema import Context, build_schema, schema
from tests.schema.fakes import FakeCatalog, FakeRecommender

SERVICE = "{ _service { sdl } }"
ITEM_ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Item { id title } }
}"""
FEDERATION_LINK = (
    'schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key", "@shareable"])'
)


def items(*item_ids: str) -> list[dict[str, str]]:
    return [{"__typename": "Item", "id": item_id} for item_id in item_ids]


async def test_service_sdl_links_federation_v2(context: Context) -> None:
    result = await schema.execute(SERVICE, context_value=context)

    assert result.errors is None
    assert result.data is not None
    assert result.data["_service"]["sdl"].splitlines()[0] == FEDERATION_LINK + " {"


async def test_service_sdl_declares_the_entities_and_shared_fields(context: Context) -> None:
    result = await schema.execute(SERVICE, context_value=context)

    assert result.data is not None
    sdl = result.data["_service"]["sdl"]
    assert [line for line in sdl.splitlines() if "@key" in line or "@shareable" in line] == [
        FEDERATION_LINK + " {",
        'type Item @key(fields: "id") {',
        "  title: String @shareable",
        "  description: String @shareable",
        "  imageUrl: String @shareable",
        "  price: Float @shareable",
        "  category: String @shareable",
        'type User @key(fields: "id") {',
    ]


async def test_service_sdl_answers_with_introspection_disabled(context: Context) -> None:
    closed = build_schema(introspection=False)

    result = await closed.execute(SERVICE, context_value=context)

    assert result.errors is None
    assert result.data is not None
    assert result.data["_service"]["sdl"].startswith(FEDERATION_LINK)


async def test_introspection_disabled_refuses_schema_queries(context: Context) -> None:
    closed = build_schema(introspection=False)

    result = await closed.execute("{ __schema { queryType { name } } }", context_value=context)

    assert result.errors is not None
    assert [error.extensions for error in result.errors] == [
        {"code": "GRAPHQL_VALIDATION_FAILED"},
        {"code": "GRAPHQL_VALIDATION_FAILED"},
    ]


async def test_entities_resolve_items_in_one_catalog_call(
    context: Context, catalog: FakeCatalog
) -> None:
    result = await schema.execute(
        ITEM_ENTITIES,
        variable_values={"representations": items("i1", "i2", "i13", "i1", "i3")},
        context_value=context,
    )

    assert result.errors is None
    assert result.data == {
        "_entities": [
            {"id": "i1", "title": "Item i1"},
            {"id": "i2", "title": "Item i2"},
            None,
            {"id": "i1", "title": "Item i1"},
            {"id": "i3", "title": "Item i3"},
        ]
    }
    assert catalog.calls == [["i1", "i2", "i13", "i3"]]


async def test_entities_refuse_an_item_id_out_of_limits(
    context: Context, catalog: FakeCatalog
) -> None:
    result = await schema.execute(
        ITEM_ENTITIES,
        variable_values={"representations": items("i1", "i" * 257)},
        context_value=context,
    )

    assert result.errors is not None
    assert (
        result.data,
        [(error.message, error.path, error.extensions) for error in result.errors],
        catalog.calls,
    ) == (
        {"_entities": [{"id": "i1", "title": "Item i1"}, None]},
        [
            (
                "id must be 1 to 256 characters long, got 257.",
                ["_entities", 1],
                {"code": "BAD_USER_INPUT"},
            )
        ],
        [["i1"]],
    )


async def test_entities_of_users_and_items_share_one_catalog_call(
    context: Context, catalog: FakeCatalog, recommender: FakeRecommender
) -> None:
    query = """query($representations: [_Any!]!) {
      _entities(representations: $representations) {
        ... on User { id recommendations(numResults: 2) { items { item { id } } } }
        ... on Item { id title }
      }
    }"""
    representations = [
        {"__typename": "User", "id": "u1"},
        {"__typename": "Item", "id": "i30"},
        {"__typename": "User", "id": "u2"},
    ]
    recommender.pauses = {"recommend": 3}

    result = await schema.execute(
        query, variable_values={"representations": representations}, context_value=context
    )

    assert result.errors is None
    assert (result.data, [sorted(ids) for ids in catalog.calls]) == (
        {
            "_entities": [
                {
                    "id": "u1",
                    "recommendations": {"items": [{"item": {"id": "i1"}}, {"item": {"id": "i2"}}]},
                },
                {"id": "i30", "title": "Item i30"},
                {
                    "id": "u2",
                    "recommendations": {"items": [{"item": {"id": "i1"}}, {"item": {"id": "i2"}}]},
                },
            ]
        },
        [["i1", "i2", "i30"]],
    )
