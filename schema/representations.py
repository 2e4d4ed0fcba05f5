"""The `representations` a supergraph sends to `_entities`, checked before any is resolved.

`_entities` takes `_Any`, so anything may arrive. Strawberry resolves each representation by
its `__typename` and passes the other fields as keyword arguments: a list, an unknown type or
a stray field would fail there as an internal error, after some references had started. A
router sends `__typename` and the key fields only; anything else is the client's mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from strawberry.federation.schema_directives import Key

from schema.errors import BadUserInput


def entity_keys(*types: type) -> dict[str, frozenset[str]]:
    """GraphQL type name -> the fields of its `@key`s, for the given Strawberry types."""
    keys: dict[str, frozenset[str]] = {}
    for type_ in types:
        definition = type_.__strawberry_definition__  # type: ignore[attr-defined]
        fields = {
            field
            for directive in definition.directives
            if isinstance(directive, Key)
            for field in str(directive.fields).split()
        }
        keys[definition.name] = frozenset(fields)
    return keys


def check_representations(
    representations: Sequence[Any], entities: Mapping[str, frozenset[str]]
) -> None:
    """Raise BadUserInput unless each representation names an entity by its key fields."""
    for index, representation in enumerate(representations):
        where = f"representations[{index}]"
        if not isinstance(representation, dict):
            raise BadUserInput(f"{where} must be an object with __typename and key fields.")
        typename = representation.get("__typename")
        if not isinstance(typename, str) or typename not in entities:
            raise BadUserInput(f"{where}.__typename must be one of {', '.join(sorted(entities))}.")
        expected = entities[typename]
        if set(representation) - {"__typename"} != expected:
            raise BadUserInput(
                f"{where}: a {typename} is named by {', '.join(sorted(expected))} alone."
            )
        for field in expected:
            if not isinstance(representation[field], str):
                raise BadUserInput(f"{where}.{field} must be a string.")
