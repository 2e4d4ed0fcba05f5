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

    `{ item { id } }` is 2 deep. Fragments count where they are spread, and each fragment is
    measured once, so a document spreading fragments many times over costs no more to check.
    Introspection (`__schema`, `__type`) counts too, against `max_depth` or the depth of the
    standard introspection query GraphiQL sends, whichever is more; `__typename` costs nothing.
    """
    introspection_depth = max(max_depth, limits.MAX_INTROSPECTION_DEPTH)

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self._fragment_depths: dict[str, _Depth] = {}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            ordinary, introspective = self._depth(node.selection_set, frozenset())
            name = f" {node.name.value}" if node.name else ""
            for depth, limit, what in (
                (ordinary, max_depth, "fields"),
                (introspective, introspection_depth, "introspection fields"),
            ):
                if depth > limit:
                    self.report_error(
                        GraphQLError(
                            f"The operation{name} nests {what} {depth} levels deep; "
                            f"the limit is {limit}.",
                            node,
                        )
                    )
                    return

        def _depth(
            self, selection_set: SelectionSetNode | None, spreading: frozenset[str]
        ) -> _Depth:
            """The deepest nesting below `selection_set`: of ordinary fields, and of paths
            through an introspection field (everything below one is introspection)."""
            ordinary = introspective = 0
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    name = selection.name.value
                    if name == "__typename":
                        continue
                    below = self._depth(selection.selection_set, spreading)
                    if name.startswith("__"):
                        depth = (0, 1 + max(below))
                    else:
                        depth = (1 + below[0], 1 + below[1] if below[1] else 0)
                elif isinstance(selection, InlineFragmentNode):
                    depth = self._depth(selection.selection_set, spreading)
                elif isinstance(selection, FragmentSpreadNode):
                    depth = self._fragment_depth(selection.name.value, spreading)
                else:  # pragma: no cover - graphql-core has no other selection
                    depth = (0, 0)
                ordinary = max(ordinary, depth[0])
                introspective = max(introspective, depth[1])
            return ordinary, introspective

        def _fragment_depth(self, name: str, spreading: frozenset[str]) -> _Depth:
            if name in self._fragment_depths:
                return self._fragment_depths[name]
            fragment = self.context.get_fragment(name)
            # Unknown fragments and cycles are other rules' errors (KnownFragmentNames,
            # NoFragmentCycles); here they add no depth.
            if fragment is None or name in spreading:
                return (0, 0)
            depth = self._depth(fragment.selection_set, spreading | {name})
            self._fragment_depths[name] = depth
            return depth

    return MaxDepthRule


_Depth = tuple[int, int]  # (ordinary fields, through introspection)
