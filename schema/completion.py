"""Completing a resolved value as graphql-core's executor does, by a tree built once.

An execution plan (schema/plans.py) builds, per document and per value of its `@skip` and
`@include` variables, one function per field that turns the value read from an object into
the response's value: scalars and enums coerced by their types, lists item by item, objects
by the subfields graphql-core's `collect_subfields` groups, `null` for a nullable field that
fails and a raised, located error for a non-null one, so that it bubbles as graphql-core's
does. Only object types whose fields are plain attributes get here.
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from typing import Any, Final

from graphql import (
    FieldNode,
    GraphQLBoolean,
    GraphQLError,
    GraphQLField,
    GraphQLFloat,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    located_error,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_subfields
from graphql.execution.values import VariableValues
from graphql.pyutils import Path, Undefined, inspect, is_iterable

TYPENAME: Final = "__typename"
# Scalars whose coercion returns a value of this exact Python type unchanged.
_IDENTITY_SCALARS: Final[dict[Any, type]] = {
    GraphQLString: str,
    GraphQLID: str,
    GraphQLBoolean: bool,
}

# A completion: (value, the parent's path, the key of the value's position, the errors).
# Paths are built only where an error needs one, or an object or list has children.
# Scalars for which a value of this exact Python type (a finite one, for a float) is its own
# completion, nullable or not.
_SELF_COMPLETING: Final[dict[Any, type]] = {**_IDENTITY_SCALARS, GraphQLFloat: float}

Complete = Callable[[Any, Path | None, str | int, "FieldErrors"], Any]


def python_name(field: GraphQLField) -> str | None:
    definition = (field.extensions or {}).get("strawberry-definition")
    name = getattr(definition, "python_name", None)
    return name if isinstance(name, str) else None


def constant(value: str) -> Complete:
    return lambda _value, _parent, _key, _errors: value


# A field of an object: response key, attribute (None: __typename), self-completing type,
# completion, GraphQL type and nodes.
_Field = tuple[str, str | None, Any, "Complete", GraphQLOutputType, list[FieldNode]]


class FieldErrors:
    """graphql-core's collected errors: none kept below a position already nulled."""

    def __init__(self) -> None:
        self.errors: list[GraphQLError] = []
        self._nulled: set[tuple[str | int, ...] | None] = set()

    def add(self, error: GraphQLError, path: Path | None) -> None:
        position = None if path is None else tuple(path.as_list())
        if None in self._nulled:
            return
        if position is not None and any(
            position[:length] in self._nulled for length in range(1, len(position) + 1)
        ):
            return
        self._nulled.add(position)
        self.errors.append(error)

    def field_error(
        self, raw: Exception, type_: GraphQLOutputType, nodes: list[FieldNode], path: Path
    ) -> None:
        """graphql-core's `handle_field_error`: raise at a non-null position, else collect."""
        error = located_error(raw, nodes, path.as_list())
        if is_non_null_type(type_):
            raise error
        self.add(error, path)


class Completions:
    """Builds the completion of a field's value by its type and its collected subfields."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        operation: OperationDefinitionNode,
        values: VariableValues,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.operation = operation
        self.values = values

    def completer(
        self,
        type_: GraphQLOutputType,
        parent: GraphQLObjectType,
        details: list[FieldDetails],
    ) -> Complete:
        field_name = details[0].node.name.value
        nodes = [detail.node for detail in details]
        if isinstance(type_, GraphQLNonNull):
            inner = self.completer(type_.of_type, parent, details)
            message = f"Cannot return null for non-nullable field {parent}.{field_name}."

            def complete_non_null(
                value: Any, parent: Path | None, key: str | int, errors: FieldErrors
            ) -> Any:
                completed = inner(value, parent, key, errors)
                if completed is None:
                    raise TypeError(message)
                return completed

            exact = _IDENTITY_SCALARS.get(type_.of_type)
            if exact is None:
                return complete_non_null

            def complete_exact_non_null(
                value: Any, parent: Path | None, key: str | int, errors: FieldErrors
            ) -> Any:
                if type(value) is exact:
                    return value
                return complete_non_null(value, parent, key, errors)

            return complete_exact_non_null
        if isinstance(type_, GraphQLList):
            return self._list(type_, parent, details, nodes)
        if is_leaf_type(type_):
            return _leaf(type_)
        assert isinstance(type_, GraphQLObjectType)  # the checker let no other type through
        return self._object(type_, details)

    def _list(
        self,
        type_: GraphQLList[Any],
        parent: GraphQLObjectType,
        details: list[FieldDetails],
        nodes: list[FieldNode],
    ) -> Complete:
        item_type = type_.of_type
        complete_item = self.completer(item_type, parent, details)
        field_name = details[0].node.name.value
        not_iterable = f"Expected Iterable, but did not find one for field '{parent}.{field_name}'."

        def complete_list(
            value: Any, parent: Path | None, key: str | int, errors: FieldErrors
        ) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            if type(value) is not list and not is_iterable(value):
                raise GraphQLError(not_iterable)
            path = Path(parent, key, None)
            completed: list[Any] = []
            append = completed.append
            for index, item in enumerate(value):
                try:
                    append(complete_item(item, path, index, errors))
                except Exception as raw:
                    errors.field_error(raw, item_type, nodes, Path(path, index, None))
                    append(None)
            return completed

        return complete_list

    def _object(self, type_: GraphQLObjectType, details: list[FieldDetails]) -> Complete:
        grouped = collect_subfields(
            self.schema,
            self.fragments,
            self.values,
            self.operation,
            type_,
            details,
        ).grouped_field_set
        fields: list[_Field] = []
        for key, sub in grouped.items():
            name = sub[0].node.name.value
            nodes = [detail.node for detail in sub]
            if name == TYPENAME:
                fields.append(
                    (key, None, None, constant(type_.name), GraphQLNonNull(GraphQLString), nodes)
                )
                continue
            field = type_.fields[name]
            fields.append(
                (
                    key,
                    python_name(field),
                    _SELF_COMPLETING.get(get_nullable_type(field.type)),
                    self.completer(field.type, type_, sub),
                    field.type,
                    nodes,
                )
            )
        typename = type_.name

        def complete_object(
            value: Any, parent: Path | None, key: str | int, errors: FieldErrors
        ) -> Any:
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                return None
            path = Path(parent, key, None)
            result: dict[str, Any] = {}
            for field_key, attribute, exact, complete, field_type, field_nodes in fields:
                try:
                    found: Any = None if attribute is None else getattr(value, attribute)
                    # Most values are their own completion: no call for those.
                    if type(found) is exact and (exact is not float or isfinite(found)):
                        result[field_key] = found
                        continue
                    result[field_key] = complete(found, path, field_key, errors)
                except Exception as raw:
                    errors.field_error(
                        raw, field_type, field_nodes, Path(path, field_key, typename)
                    )
                    result[field_key] = None
            return result

        return complete_object


def _leaf(type_: Any) -> Complete:
    exact = _IDENTITY_SCALARS.get(type_)
    coerce = type_.coerce_output_value

    def complete_leaf(value: Any, parent: Path | None, key: str | int, errors: FieldErrors) -> Any:
        if exact is not None and type(value) is exact:
            return value
        if type_ is GraphQLFloat and type(value) is float and isfinite(value):
            return value
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        coerced = coerce(value)
        if coerced is Undefined or coerced is None:
            raise TypeError(
                f"Expected `{inspect(type_)}.coerce_output_value("
                f"{inspect(value)})` to return non-nullable value, returned:"
                f" {inspect(coerced)}"
            )
        return coerced

    return complete_leaf
