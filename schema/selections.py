"""Whether a field's selection reaches a given path, read from the document as executed.

Root fields use it to fetch catalog items themselves when a query selects `item`, so that an
item is a plain attribute rather than one awaitable per recommended item.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLIncludeDirective,
    GraphQLResolveInfo,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionNode,
    VariableNode,
)

_SKIP: Final = GraphQLSkipDirective.name
_INCLUDE: Final = GraphQLIncludeDirective.name


def selects(info: GraphQLResolveInfo[Any], path: Sequence[str]) -> bool:
    """Whether the current field selects `path` (field names below it), through fragments,
    counting `@skip` and `@include` as the executor does."""
    nodes: list[FieldNode] = list(info.field_nodes)
    for name in path:
        nodes = [
            node
            for parent in nodes
            if parent.selection_set is not None
            for node in _fields(info, parent.selection_set.selections)
            if node.name.value == name
        ]
        if not nodes:
            return False
    return True


def _fields(
    info: GraphQLResolveInfo[Any], selections: Iterable[SelectionNode]
) -> Iterable[FieldNode]:
    for selection in selections:
        if not _included(info, selection):
            continue
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(info, selection.selection_set.selections)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = info.fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields(info, fragment.selection_set.selections)


def _included(info: GraphQLResolveInfo[Any], node: SelectionNode) -> bool:
    if not node.directives:
        return True
    for directive in node.directives:
        name = directive.name.value
        if name in (_SKIP, _INCLUDE) and _condition(info, directive) == (name == _SKIP):
            return False
    return True


def _condition(info: GraphQLResolveInfo[Any], directive: DirectiveNode) -> bool:
    # Validation has checked the `if: Boolean!` argument; variables arrive coerced.
    for argument in directive.arguments or ():
        value = argument.value
        if isinstance(value, BooleanValueNode):
            return value.value
        if isinstance(value, VariableNode):
            variables: Any = getattr(info.variable_values, "coerced", info.variable_values)
            return bool(variables.get(value.name.value))
    return False
