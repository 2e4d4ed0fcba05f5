"""The Personalize calls one document may cause, counted before any is made.

Each `recommendations`, `relatedItems` and `ranking` field at the root (aliases and fragments
included) is one call, and so is each `User` representation of `_entities` for each
`recommendations` selected on it. A document over the budget is refused whole, before
anything runs; `_entities` takes at most `limits.MAX_ENTITY_REPRESENTATIONS` representations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from schema import limits
from schema.errors import BadUserInput

UPSTREAM_ROOT_FIELDS = frozenset({"recommendations", "relatedItems", "ranking"})


class UpstreamBudget(SchemaExtension):
    """Refuses a document whose Personalize calls would exceed `max_calls`."""

    def __init__(self, *, max_calls: int = limits.DEFAULT_MAX_UPSTREAM_CALLS) -> None:
        self.max_calls = max_calls

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            try:
                calls = count_upstream_calls(
                    document.definitions, context.operation_name, context.variables or {}
                )
                if calls > self.max_calls:
                    raise BadUserInput(
                        f"The document would make {calls} Personalize calls; the limit is "
                        f"{self.max_calls} a request (every recommendations, relatedItems and "
                        "ranking field, and every User of _entities asking for recommendations)."
                    )
            except BadUserInput as error:
                context.result = ExecutionResult(data=None, errors=[error])
        yield


def count_upstream_calls(
    definitions: Any, operation_name: str | None, variables: Mapping[str, Any]
) -> int:
    fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        operation
        for operation in operations
        if operation_name is None or (operation.name and operation.name.value == operation_name)
    ]
    if len(chosen) != 1 or chosen[0].operation.value != "query":
        return 0  # graphql-core reports the ambiguity; mutations call no recommender
    calls = 0
    for field in _fields(chosen[0].selection_set, fragments, frozenset()):
        name = field.name.value
        if name in UPSTREAM_ROOT_FIELDS:
            calls += 1
        elif name == "_entities":
            users = _user_representations(field, variables)
            per_user = sum(
                1
                for child in _fields(field.selection_set, fragments, frozenset())
                if child.name.value == "recommendations"
            )
            calls += users * per_user
    return calls


def _user_representations(field: FieldNode, variables: Mapping[str, Any]) -> int:
    argument = next((a for a in field.arguments or () if a.name.value == "representations"), None)
    if argument is None:
        return 0
    representations = value_from_ast_untyped(argument.value, dict(variables))
    if not isinstance(representations, list):
        return 0
    if len(representations) > limits.MAX_ENTITY_REPRESENTATIONS:
        raise BadUserInput(
            f"_entities takes at most {limits.MAX_ENTITY_REPRESENTATIONS} representations, "
            f"got {len(representations)}."
        )
    return sum(
        1
        for representation in representations
        if isinstance(representation, dict) and representation.get("__typename") == "User"
    )


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    spreading: frozenset[str],
) -> Iterator[FieldNode]:
    """The fields of `selection_set`, fragments spread in (each cycle cut once)."""
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, spreading)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in spreading:
                yield from _fields(fragment.selection_set, fragments, spreading | {name})
