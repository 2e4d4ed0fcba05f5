"""Execution plans answer byte for byte as graphql-core does: a differential test on generated
documents (aliases, named and inline fragments, @skip/@include with variables, __typename),
generated answers (lists of 0 to 500 items, nulls, values a scalar refuses, a null where the
schema says non-null) and failures (a root field raising, a catalog down)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import strawberry
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schema import Context, build_schema
from schema.ports import (
    CatalogItem,
    CatalogUnavailable,
    Recommendation,
    Recommendations,
    RecommendationSource,
    Unavailable,
)
from tests.schema.fakes import FILTERS, FakeCatalog, FakeRecommender

ITEM_IDS = [f"i{n}" for n in range(600)]
ITEM_FIELDS = ("id", "title", "description", "imageUrl", "price", "category", "attributes")
RECOMMENDED_FIELDS = ("itemId", "score", "promotionName", "reasons")
LIST_FIELDS = ("recommendationId", "source")
FRAGMENT_TYPES = {"FItem": "Item", "FRecommended": "RecommendedItem", "FList": "RecommendationList"}
# Generous limits: documents are drawn to exercise execution, not the document limits; the
# unexpected errors' messages shown, so that they are compared too.
LIMITS: dict[str, Any] = {
    "max_aliases": 200,
    "max_tokens": 20_000,
    "max_upstream_calls": 20,
    "show_error_details": True,
}


@dataclass
class _Writer:
    """Draws the text of selection sets, noting the variables and fragments they use."""

    draw: Callable[..., Any]
    aliases: itertools.count[int] = field(default_factory=itertools.count)

    def directive(self) -> str:
        kind = self.draw(st.sampled_from(["", "", "", "skip", "include"]))
        if not kind:
            return ""
        value = self.draw(st.sampled_from(["true", "false", "$a", "$b"]))
        return f" @{kind}(if: {value})"

    def name(self, field_name: str) -> str:
        if self.draw(st.booleans()):
            return field_name
        return f"a{next(self.aliases)}: {field_name}"

    def selection(
        self, type_name: str, leaves: tuple[str, ...], child: str | None, spread: bool = True
    ) -> str:
        """A selection set on `type_name`: some leaves, __typename, its object child, wrapped
        in fragments now and then (`spread`: the named fragment of `type_name` too)."""
        parts: list[str] = []
        for _ in range(self.draw(st.integers(1, 4))):
            choice = self.draw(
                st.sampled_from([*leaves, "__typename", "child", "inline", "spread"])
            )
            if choice == "child" and child is not None:
                inner_type, inner_leaves, inner_child = _CHILDREN[child]
                body = self.selection(inner_type, inner_leaves, inner_child)
                parts.append(f"{self.name(child)}{self.directive()} {{ {body} }}")
            elif choice == "inline":
                condition = self.draw(st.sampled_from(["", f" on {type_name}"]))
                body = self.selection(type_name, leaves, child, spread)
                parts.append(f"...{condition}{self.directive()} {{ {body} }}")
            elif choice == "spread" and spread:
                name = next(name for name, on in FRAGMENT_TYPES.items() if on == type_name)
                parts.append(f"...{name}{self.directive()}")
            elif choice not in ("child", "spread"):
                parts.append(f"{self.name(choice)}{self.directive()}")
        return " ".join(parts)


_CHILDREN: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "item": ("Item", ITEM_FIELDS, None),
    "items": ("RecommendedItem", RECOMMENDED_FIELDS, "item"),
}
_ROOTS = {
    "recommendations": "recommendations(userId: $u, numResults: $n)",
    "relatedItems": 'relatedItems(itemId: "i1", numResults: 3)',
    "ranking": 'ranking(userId: "u1", items: ["i2", "i1", "unknown"])',
    "item": 'item(id: "i2")',
}


@st.composite
def documents(draw: Callable[..., Any]) -> tuple[str, set[str]]:
    """A query over the schema and the variables it uses."""
    writer = _Writer(draw)
    fragments = {
        "FItem": writer.selection("Item", ITEM_FIELDS, None, spread=False),
        "FRecommended": writer.selection("RecommendedItem", RECOMMENDED_FIELDS, "item", False),
        "FList": writer.selection("RecommendationList", LIST_FIELDS, "items", spread=False),
    }
    roots: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        root = draw(st.sampled_from([*_ROOTS, "__typename"]))
        if root == "__typename":
            roots.append(f"{writer.name('__typename')}{writer.directive()}")
            continue
        if root == "item":
            body = writer.selection("Item", ITEM_FIELDS, None)
        else:
            body = writer.selection("RecommendationList", LIST_FIELDS, "items")
        roots.append(f"a{next(writer.aliases)}: {_ROOTS[root]}{writer.directive()} {{ {body} }}")
    body = " ".join(roots)
    definitions = "".join(
        f"\nfragment {name} on {FRAGMENT_TYPES[name]} {{ {fragments[name]} }}"
        for name in _used_fragments(body, fragments)
    )
    types = {"u": "ID!", "n": "Int!", "a": "Boolean!", "b": "Boolean!"}
    used = {name for name in types if f"${name}" in body + definitions}
    declared = ", ".join(f"${name}: {types[name]}" for name in sorted(used))
    header = f"query Q({declared})" if declared else "query Q"
    return f"{header} {{ {body} }}{definitions}", used


def _used_fragments(body: str, fragments: dict[str, str]) -> list[str]:
    used: list[str] = []
    texts = [body]
    while texts:
        text = texts.pop()
        for name in fragments:
            if f"...{name}" in text and name not in used:
                used.append(name)
                texts.append(fragments[name])
    return used


@st.composite
def answers(draw: Callable[..., Any]) -> Recommendations:
    """Personalize's answer: up to 500 items, with now and then a null id (non-null bubbling),
    a score Float refuses, no score, a promotion, reasons."""
    size = draw(st.sampled_from([0, 1, 2, 25, draw(st.integers(0, 500)), 500]))
    last = max(size - 1, 0)
    null_id = draw(st.sampled_from([None, 0, last]) | st.integers(0, last))
    bad_score = draw(st.sampled_from([None, 0, last]) | st.integers(0, last))
    items = tuple(
        Recommendation(
            item_id=None if index == null_id else ITEM_IDS[index % len(ITEM_IDS)],  # type: ignore[arg-type]
            score=math.nan if index == bad_score else (None if index % 7 == 3 else 1 / (index + 1)),
            promotion_name="promo" if index % 5 == 1 else None,
            reasons=("popular",) if index % 3 == 0 else (),
        )
        for index in range(size)
    )
    source = draw(st.sampled_from(list(RecommendationSource)))
    return Recommendations(draw(st.none() | st.just("rid-1")), items, source)


def _catalog_item(item_id: str) -> CatalogItem:
    number = int(item_id[1:])
    return CatalogItem(
        id=item_id,
        title=None if number % 4 == 0 else f"Item {item_id}",
        description=f"About {item_id}.",
        image_url=f"/images/items/{item_id}.svg",
        price=math.inf if number % 11 == 5 else number + 0.5,
        category="shoes",
        attributes={"COLOR": "red", "SIZES": [40, 41]},
    )


CATALOG = {item_id: _catalog_item(item_id) for item_id in ITEM_IDS if int(item_id[1:]) % 9 != 2}


@dataclass(frozen=True)
class _World:
    answer: Recommendations
    failure: Exception | None
    catalog_failure: Exception | None
    pauses: dict[str, int]

    def context(self) -> Context:
        return Context(
            recommender=FakeRecommender(
                item_ids=ITEM_IDS, answer=self.answer, failure=self.failure, pauses=self.pauses
            ),
            catalog=FakeCatalog(CATALOG, failure=self.catalog_failure),
            filters=FILTERS,
        )


worlds = st.builds(
    _World,
    answer=answers(),
    failure=st.sampled_from([None, None, None, Unavailable("down"), RuntimeError("boom")]),
    catalog_failure=st.sampled_from([None, None, None, CatalogUnavailable("catalog down")]),
    pauses=st.fixed_dictionaries(
        {method: st.integers(0, 3) for method in ("recommend", "related_items", "rank")}
    ),
)


def _response(result: Any) -> bytes:
    """The response body the view sends for `result`."""
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return orjson.dumps(body)


@pytest.fixture(scope="module")
def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    return build_schema(**LIMITS), build_schema(plan_cache_size=0, **LIMITS)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    document=documents(),
    world=worlds,
    conditions=st.fixed_dictionaries({"a": st.booleans(), "b": st.booleans()}),
    num_results=st.integers(1, 500),
)
async def test_plan_answers_as_graphql_core(
    schemas: tuple[strawberry.Schema, strawberry.Schema],
    document: tuple[str, set[str]],
    world: _World,
    conditions: dict[str, bool],
    num_results: int,
) -> None:
    planned, reference = schemas
    query, used = document
    given_values = {"u": "u1", "n": num_results, **conditions}
    variables = {name: given_values[name] for name in used}
    expected = await reference.execute(query, variables, world.context())
    # What the examples cover, shown by pytest --hypothesis-show-statistics.
    event(f"data null: {expected.data is None}")
    event(f"errors: {min(len(expected.errors or ()), 3)}")
    size = len(world.answer.items)
    event(f"answer items: {'0' if not size else '1-99' if size < 100 else '100-500'}")
    await planned.execute(query, variables, world.context())  # learns the document
    hits = planned.plans.hits  # type: ignore[attr-defined]
    answered = await planned.execute(query, variables, world.context())
    assert planned.plans.hits == hits + 1, query  # type: ignore[attr-defined]
    assert _response(answered) == _response(expected), query


async def test_plan_is_not_made_for_introspection() -> None:
    schema = build_schema()
    query = "{ __schema { queryType { name } } }"
    await schema.execute(query)
    await schema.execute(query)
    assert schema.plans.hits == 0, schema.plans.hits  # type: ignore[attr-defined]


async def test_plan_is_not_made_for_entities() -> None:
    schema = build_schema()
    query = '{ _entities(representations: [{__typename: "Item", id: "i1"}]) { __typename } }'
    context = Context(recommender=FakeRecommender(), catalog=FakeCatalog(), filters=FILTERS)
    await schema.execute(query, context_value=context)
    await schema.execute(query, context_value=context)
    assert schema.plans.hits == 0, schema.plans.hits  # type: ignore[attr-defined]


async def test_plan_leaves_variables_that_do_not_coerce_to_graphql_core() -> None:
    schema = build_schema()
    query = "query Q($u: ID!) { recommendations(userId: $u) { recommendationId } }"
    context = Context(recommender=FakeRecommender(), catalog=FakeCatalog(), filters=FILTERS)
    await schema.execute(query, {"u": "u1"}, context)
    result = await schema.execute(query, {"u": True}, context)
    codes = [(error.extensions or {}).get("code") for error in result.errors or ()]
    assert codes == ["BAD_USER_INPUT"], codes
