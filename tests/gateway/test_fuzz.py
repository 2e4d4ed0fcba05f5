"""Property-based fuzzing of the real app: whatever arrives, the answer is a coded GraphQL error
or data, never a 500, an internal error or a stack trace.

Every argument of every field (found in the schema, so a new one is fuzzed too) gets values of
its type, edge values and values of the wrong type; raw bodies get random bytes, random JSON
and wrong content types. The app runs in production mode on the local Personalize. Examples
are few and derandomized, so the suite is quick and CI sees the same inputs every run.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLUnionType,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.settings import Settings
from schema import ERROR_CODES
from schema import schema as app_schema
from tests.gateway.conftest import Gateway, OpenGateway

LEAKS = re.compile(r'Traceback|File "|\.py", line')
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ_FIELDS = settings(FUZZ, max_examples=400)  # about 60 for each field
GRAPHQL_SCHEMA = app_schema._schema
ENTITY_TYPES = {"User", "Item"}  # reached through `_entities`, as a supergraph router does

# --- values ------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Values the app knows, so that fuzzing reaches past the first check into the upstream call.
known_strings = st.sampled_from(
    [
        "u-01",
        "u-02",
        "i-001",
        "i-060",
        "exclude-purchased",
        "category",
        "max-price",
        "CATEGORY",
        "MAX_PRICE",
        "shoes",
        "100",
        "view",
        "purchase",
        "DEVICE",
        "spring-sale",
        "2024-05-01T12:00:00Z",
        "",
        " ",
        "null",
    ]
)
strings = (
    known_strings
    | st.text(max_size=40)
    | st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=70)
    | st.integers(min_value=0, max_value=1100).map(lambda n: "x" * n)
)
ints = st.sampled_from([-1, 0, 1, 20, 25, 100, 101, 500, 501, 2**31 - 1, 2**31]) | st.integers()
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, -1.5, 1e300])


def value_of(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values for an argument of `type_`: mostly well-typed, sometimes null or of another type."""
    if isinstance(type_, GraphQLNonNull):
        typed = well_typed(type_.of_type, depth)
    else:
        typed = st.none() | well_typed(type_, depth)
    return st.one_of(typed, typed, typed, json_values)


def well_typed(type_: GraphQLInputType, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLNonNull):
        return well_typed(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        item = value_of(type_.of_type, depth + 1)
        repeated = st.tuples(item, st.sampled_from([0, 25, 26, 150, 151, 500, 501]))
        return st.lists(item, max_size=4) | repeated.map(lambda pair: [pair[0]] * pair[1])
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 3:
            return st.just({})
        fields = {name: value_of(field.type, depth + 1) for name, field in type_.fields.items()}
        return st.fixed_dictionaries({}, optional=fields)
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from(sorted(type_.values))
    assert isinstance(type_, GraphQLScalarType)
    return {
        "ID": strings,
        "String": strings,
        "Int": ints,
        "Float": floats,
        "Boolean": st.booleans(),
    }.get(type_.name, json_values)


representations = st.lists(
    st.fixed_dictionaries(
        {"__typename": st.sampled_from(["User", "Item", "Query", "Nope"]), "id": strings}
    )
    | json_values,
    max_size=3,
)

# --- the fields, from the schema ---------------------------------------------------------------


def selection(type_: GraphQLOutputType, depth: int = 0) -> str:
    """Every field `type_` has that takes no required argument, nested up to 3 levels."""
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    if isinstance(type_, GraphQLUnionType):
        return "{ " + " ".join(f"... on {t.name} {selection(t, depth)}" for t in type_.types) + " }"
    if not isinstance(type_, GraphQLObjectType):
        return ""
    parts = []
    for name, field in type_.fields.items():
        if any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values()):
            continue
        nested = selection(field.type, depth + 1)
        composite = isinstance(_named(field.type), GraphQLObjectType | GraphQLUnionType)
        if (nested or not composite) and (depth < 3 or not nested):
            parts.append(f"{name} {nested}".strip())
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def _named(type_: GraphQLOutputType) -> GraphQLNamedType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


@dataclass(frozen=True)
class FieldUnderTest:
    """A field with arguments, and how to write an operation that reaches it."""

    owner: str
    name: str
    args: dict[str, GraphQLArgument]
    result: GraphQLOutputType

    def document(self, given: list[str]) -> str:
        variables = [f"${name}: {self.args[name].type}" for name in given]
        arguments = ", ".join(f"{name}: ${name}" for name in given)
        call = f"{self.name}({arguments})" if arguments else self.name
        body = f"{call} {selection(self.result)}"
        if self.owner in ENTITY_TYPES:
            variables.append("$representations: [_Any!]!")
            body = (
                "_entities(representations: $representations) "
                f"{{ ... on {self.owner} {{ {body} }} }}"
            )
        operation = "mutation" if self.owner == "Mutation" else "query"
        declared = f"({', '.join(variables)})" if variables else ""
        return f"{operation} Fuzz{declared} {{ {body} }}"


def fields_with_arguments() -> list[FieldUnderTest]:
    found = []
    for type_ in GRAPHQL_SCHEMA.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            if field.args:
                found.append(FieldUnderTest(type_.name, name, dict(field.args), field.type))
    return found


FIELDS = fields_with_arguments()

# --- checks ------------------------------------------------------------------------------------


def assert_well_formed(response: httpx.Response) -> None:
    """No 5xx, no stack trace, and a JSON body whose every error carries a known code."""
    text = response.text
    assert response.status_code < 500, text
    assert not LEAKS.search(text), text
    assert response.headers["content-type"].startswith("application/json"), text
    body = response.json()
    errors = body.get("errors", [])
    assert "data" in body or errors, text
    codes = [error.get("extensions", {}).get("code") for error in errors]
    assert set(codes) <= ERROR_CODES, text
    assert "INTERNAL_SERVER_ERROR" not in codes, text


@pytest.fixture
async def fuzzed(open_gateway: OpenGateway) -> AsyncIterator[Gateway]:
    """The app in production mode; events are not sent, so fuzzing leaves the model as it is."""
    resolved = Settings(environment="production")
    async with open_gateway(
        environment="production",
        introspection=resolved.introspection,
        graphiql=resolved.graphiql,
        event_tracking_id=None,
    ) as gateway:
        yield gateway


def test_fuzz_covers_every_field_with_arguments() -> None:
    assert {f"{field.owner}.{field.name}" for field in FIELDS} >= {
        "Query.recommendations",
        "Query.relatedItems",
        "Query.ranking",
        "Query.item",
        "Query._entities",
        "Mutation.recordEvents",
        "User.recommendations",
    }


@FUZZ_FIELDS
@given(data=st.data())
async def test_fuzz_every_argument_of_every_field(fuzzed: Gateway, data: st.DataObject) -> None:
    field = data.draw(st.sampled_from(FIELDS), label="field")
    variables = data.draw(
        st.fixed_dictionaries(
            {}, optional={name: value_of(arg.type) for name, arg in field.args.items()}
        ),
        label="variables",
    )
    given_args = [name for name in field.args if name in variables]
    if field.owner in ENTITY_TYPES:
        variables["representations"] = [{"__typename": field.owner, "id": "u-01"}]
    if field.name == "_entities":
        variables["representations"] = data.draw(representations, label="representations")
        given_args = ["representations"]

    response = await fuzzed.client.post(
        "/graphql", json={"query": field.document(given_args), "variables": variables}
    )

    assert_well_formed(response)


content_types = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/graphql-response+json",
        "application/graphql",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=fuzz",
        "",
    ]
)


@FUZZ
@given(body=st.binary(max_size=300), content_type=content_types)
async def test_fuzz_random_bytes(fuzzed: Gateway, body: bytes, content_type: str) -> None:
    response = await fuzzed.client.post(
        "/graphql", content=body, headers={"Content-Type": content_type}
    )

    assert_well_formed(response)


queries = (
    st.sampled_from(
        [
            '{ item(id: "i-001") { id title } }',
            '{ recommendations(userId: "u-01") { items { itemId item { title } } } }',
            "query Q($u: ID!) { recommendations(userId: $u) { source } }",
            'mutation { recordEvents(input: {sessionId: "s", events: []}) { accepted } }',
            "{ __schema { types { name } } }",
            "{ _service { sdl } }",
            "subscription { item }",
            "query A { __typename } query B { __typename }",
            "{",
            "",
        ]
    )
    | st.text(max_size=80)
    | st.text(alphabet='{}()[]:$!@."\\ \n#,=|&.aqiI0', max_size=80)
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "query": queries | json_values,
        "variables": st.dictionaries(st.sampled_from(["u", "id", "x"]), json_values) | json_values,
        "operationName": st.sampled_from(["A", "B", "Q", ""]) | json_values,
        "extensions": st.just({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
        | json_values,
    },
)


@FUZZ
@given(body=requests | json_values, content_type=content_types)
async def test_fuzz_random_json(fuzzed: Gateway, body: Any, content_type: str) -> None:
    response = await fuzzed.client.post(
        "/graphql", content=json.dumps(body), headers={"Content-Type": content_type}
    )

    assert_well_formed(response)


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["query", "variables", "operationName", "extensions"])
        | st.text(max_size=5),
        queries | st.text(max_size=40),
        max_size=3,
    ),
    accept=st.sampled_from(["*/*", "text/html", "application/json", ""]),
)
async def test_fuzz_random_get_parameters(
    fuzzed: Gateway, params: dict[str, str], accept: str
) -> None:
    response = await fuzzed.client.get("/graphql", params=params, headers={"Accept": accept})

    assert_well_formed(response)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000 + b"]" * 200_000,
        json.dumps({"query": "{" * 5000 + "}" * 5000}).encode(),
        json.dumps(
            {
                "query": "query($v: [ID!]!) { item(id: $v) { id } }",
                "variables": {"v": [[[[["x"]]]]] * 100},
            }
        ).encode(),
        json.dumps({"query": "{ __typename " + "a: __typename " * 3000 + "}"}).encode(),
        json.dumps({"query": "{ " + "fragment " * 5000 + "}"}).encode(),
        json.dumps(
            {
                "query": 'query($items: [ID!]!) { ranking(userId: "u-01", items: $items) '
                "{ source } }",
                "variables": {"items": ["i-001"] * 50_000},
            }
        ).encode(),
        json.dumps({"query": '{ item(id: "' + "x" * 900_000 + '") { id } }'}).encode(),
        json.dumps({"query": "{ item(id: 1" + "0" * 5000 + ") { id } }"}).encode(),
        b'{"query": "{ __typename }", "variables": {"n": 1' + b"0" * 5000 + b"}}",
        b"\x00" * 2000,
    ],
    ids=[
        "deep-json",
        "deep-braces",
        "nested-lists",
        "many-aliases",
        "many-tokens",
        "huge-list",
        "huge-string",
        "huge-int-literal",
        "huge-int-variable",
        "nul-bytes",
    ],
)
async def test_fuzz_huge_and_nested_inputs(fuzzed: Gateway, body: bytes) -> None:
    response = await fuzzed.client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )

    assert_well_formed(response)
