"""Limits on the GraphQL document itself: its depth, aliases and tokens, and introspection.

A public endpoint gets documents written to cost the most: each limit refuses one kind
before anything runs, with an error that states the limit.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule

from schema import limits


def document_limits(
    *,
    max_depth: int = limits.DEFAULT_MAX_DEPTH,
    max_aliases: int = limits.DEFAULT_MAX_ALIASES,
    max_tokens: int = limits.DEFAULT_MAX_TOKENS,
    introspection: bool = True,
) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions enforcing the limits (factories: Strawberry makes one per request).

    Turning introspection off refuses `__schema` and `__type` only: `__typename` and
    Federation's `_service { sdl }` keep working, so a router can still compose the subgraph.
    The rules are made once, here, not per request: the same rules for the same document let
    Strawberry's ValidationCache answer without validating again.
    """
    rules: list[type[ASTValidationRule]] = [
        max_depth_rule(max_depth),
        max_aliases_rule(max_aliases),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        partial(MaxTokensLimiter, max_token_count=max_tokens),
        partial(AddValidationRules, rules),
    ]


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose fields nest more than `max_depth` deep.

    `{ item { id } }` is 2 deep. Introspection fields are not counted (introspection has its
    own switch), fragments count where they are spread, and each fragment is measured once,
    so a document spreading fragments many times over costs no more to check.
    """

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragment_depths: dict[str, int] = {}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            depth = self._depth(node.selection_set, frozenset())
            if depth > max_depth:
                name = f" {node.name.value}" if node.name else ""
                self.report_error(
                    GraphQLError(
                        f"The operation{name} nests fields {depth} levels deep; "
                        f"the limit is {max_depth}.",
                        node,
                    )
                )

        def _depth(self, selection_set: SelectionSetNode | None, spreading: frozenset[str]) -> int:
            deepest = 0
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    if selection.name.value.startswith("__"):
                        continue
                    depth = 1 + self._depth(selection.selection_set, spreading)
                elif isinstance(selection, InlineFragmentNode):
                    depth = self._depth(selection.selection_set, spreading)
                elif isinstance(selection, FragmentSpreadNode):
                    depth = self._fragment_depth(selection.name.value, spreading)
                else:  # pragma: no cover - graphql-core has no other selection
                    depth = 0
                deepest = max(deepest, depth)
            return deepest

        def _fragment_depth(self, name: str, spreading: frozenset[str]) -> int:
            if name in self._fragment_depths:
                return self._fragment_depths[name]
            fragment = self.context.get_fragment(name)
            # Unknown fragments and cycles are other rules' errors (KnownFragmentNames,
            # NoFragmentCycles); here they add no depth.
            if fragment is None or name in spreading:
                return 0
            depth = self._depth(fragment.selection_set, spreading | {name})
            self._fragment_depths[name] = depth
            return depth

    return MaxDepthRule
