"""Execution plans for documents seen before: the fields a query selects, compiled once.

Apps send a handful of documents over and over. For a validated query whose fields this module
knows (the root fields answering a RecommendationList or an Item, and below them plain
attributes), a plan calls the root resolvers as graphql-core would (same arguments, same
`info`, concurrently) and projects the objects they return into the response by a tree built
once per document and per value of its `@skip`/`@include` variables. graphql-core's own
`collect_fields` builds that tree, so aliases, fragments and directives mean what they mean
there; completion follows graphql-core's executor step by step: scalars and enums coerced by
their types, `null` bubbling to the nearest nullable field, errors located and collected in
the same order. A differential test holds the two to the same bytes.

Anything else (mutations, introspection, `_entities`, `_service`, fragment variables, unknown
directives, variables that fail to coerce) has no plan, or makes `execute` answer None: the
caller then runs graphql-core as usual.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_fields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path, gather_with_cancel
from graphql.type import GraphQLResolveInfoHelpers
from strawberry.execution.is_awaitable import optimized_is_awaitable

from schema.completion import TYPENAME, Complete, Completions, FieldErrors, constant, python_name

# The root fields a plan runs, and the types whose fields it reads as plain attributes.
PLANNED_ROOT_FIELDS: Final = frozenset({"recommendations", "relatedItems", "ranking", "item"})
PLANNED_TYPES: Final = frozenset({"RecommendationList", "RecommendedItem", "Item"})
# Trees kept per plan, one per combination of its @skip/@include variables met: a document with
# many such variables builds the others per request rather than holding 2**n trees.
MAX_CONDITION_VARIANTS: Final = 16
_CONDITIONS: Final = frozenset({GraphQLSkipDirective.name, GraphQLIncludeDirective.name})


class Plans:
    """The plans of the last `maxsize` (document text, operation name) pairs, least recently
    used first out; documents that cannot be planned are remembered as such."""

    def __init__(self, schema: GraphQLSchema, maxsize: int) -> None:
        self.schema = schema
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        self.hits = 0

    def find(self, query: str, operation_name: str | None) -> Plan | None:
        plan = self._plans.get((query, operation_name))
        if plan is not None:
            self._plans.move_to_end((query, operation_name))
            self.hits += 1
        return plan

    def learn(self, query: str, operation_name: str | None, document: DocumentNode) -> None:
        """Plan a document that parsed and validated (and was not refused by a limit).

        `operation_name` is the operation that ran: a request naming no operation finds the
        plan too when the document has only that one.
        """
        key = (query, operation_name)
        if key in self._plans or self.maxsize <= 0:
            return
        plan = compile_plan(self.schema, document, operation_name)
        self._plans[key] = plan
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None and len(operations) == 1:
            self._plans[(query, None)] = plan
        while len(self._plans) > self.maxsize:
            self._plans.popitem(last=False)

    def __len__(self) -> int:
        return len(self._plans)


def compile_plan(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Plan | None:
    """The plan of a validated document's operation, or None when a plan cannot run it."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return None
    operation = operations[0]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    query_type = schema.query_type
    if operation.directives or query_type is None:
        return None
    conditions: list[str] = []
    checker = _Checker(schema, fragments, conditions)
    if any(f.variable_definitions for f in fragments.values()) or not checker.plannable(
        operation.selection_set, query_type, root=True
    ):
        return None
    return Plan(schema, operation, fragments, tuple(dict.fromkeys(conditions)))


@dataclass
class _Checker:
    """Whether every field a selection set may select is one a plan knows how to run."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    conditions: list[str]  # the variables of @skip and @include, as they are met

    def plannable(
        self, selection_set: SelectionSetNode, type_: GraphQLObjectType, *, root: bool = False
    ) -> bool:
        for selection in selection_set.selections:
            if not self._directives_known(selection.directives or ()):
                return False
            if isinstance(selection, FieldNode):
                if not self._field(selection, type_, root):
                    return False
            elif isinstance(selection, InlineFragmentNode | FragmentSpreadNode):
                if isinstance(selection, InlineFragmentNode):
                    definition: InlineFragmentNode | FragmentDefinitionNode = selection
                else:
                    found = self.fragments.get(selection.name.value)
                    if found is None:
                        return False
                    definition = found
                condition = definition.type_condition
                if condition is not None and condition.name.value != type_.name:
                    return False  # another type (an abstract one): graphql-core decides
                if not self.plannable(definition.selection_set, type_, root=root):
                    return False
        return True

    def _field(self, node: FieldNode, type_: GraphQLObjectType, root: bool) -> bool:
        name = node.name.value
        if name == TYPENAME:
            return True
        field = type_.fields.get(name)
        if field is None:
            return False
        if root:
            if name not in PLANNED_ROOT_FIELDS:
                return False
        elif not getattr(field.resolve, "_is_default", False) or python_name(field) is None:
            return False
        named = get_named_type(field.type)
        if is_leaf_type(named):
            return True
        if not is_object_type(named) or named.name not in PLANNED_TYPES or named.is_type_of:
            return False
        return node.selection_set is not None and self.plannable(node.selection_set, named)

    def _directives_known(self, directives: Iterable[Any]) -> bool:
        for directive in directives:
            if directive.name.value not in _CONDITIONS:
                return False
            for argument in directive.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.conditions.append(argument.value.name.value)
        return True


class Plan:
    """One operation of one document, ready to run with any variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        conditions: tuple[str, ...],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragment_definitions = fragments
        self.fragments = {name: FragmentDetails(f) for name, f in fragments.items()}
        self.conditions = conditions
        self._roots: dict[tuple[Any, ...], list[_RootField]] = {}

    async def execute(
        self, context: Any, root_value: Any, variables: Mapping[str, Any] | None
    ) -> ExecutionResult | None:
        """The result graphql-core would give, or None when graphql-core must answer (the
        variables do not coerce, or a condition is not a boolean)."""
        values = get_variable_values(
            self.schema, self.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(values, list):
            return None
        key = tuple(values.coerced.get(name) for name in self.conditions)
        roots = self._roots.get(key)
        if roots is None:
            if not all(isinstance(value, bool) for value in key):
                return None
            roots = self._compile_roots(values)
            if len(self._roots) < MAX_CONDITION_VARIANTS:
                self._roots[key] = roots
        return await _Run(self, context, root_value, values).execute(roots)

    def _compile_roots(self, values: VariableValues) -> list[_RootField]:
        query_type = self.schema.query_type
        assert query_type is not None  # compile_plan checked
        grouped = collect_fields(
            self.schema, self.fragments, values, query_type, self.operation
        ).grouped_field_set
        return [
            _RootField(
                key,
                details,
                None
                if details[0].node.name.value == TYPENAME
                else query_type.fields[details[0].node.name.value],
                Completions(self.schema, self.fragments, self.operation, values).completer(
                    query_type.fields[details[0].node.name.value].type,
                    query_type,
                    details,
                )
                if details[0].node.name.value != TYPENAME
                else constant(query_type.name),
            )
            for key, details in grouped.items()
        ]


@dataclass
class _RootField:
    key: str
    details: list[FieldDetails]
    field: GraphQLField | None  # None: __typename
    complete: Complete

    @property
    def nodes(self) -> list[FieldNode]:
        return [detail.node for detail in self.details]


_HELPERS: Final = GraphQLResolveInfoHelpers(
    gather=lambda values: gather_with_cancel(*values), track=lambda _values: None
)


class _Run:
    """One execution of a plan: the root fields concurrently, then their projections."""

    def __init__(self, plan: Plan, context: Any, root_value: Any, values: VariableValues):
        self.plan = plan
        self.context = context
        self.root_value = root_value
        self.values = values
        self.errors = FieldErrors()

    async def execute(self, roots: Sequence[_RootField]) -> ExecutionResult:
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            try:
                for root in roots:
                    results[root.key] = self._execute_field(root)
                    if optimized_is_awaitable(results[root.key]):
                        pending.append(root.key)
            except Exception:
                for key in pending:  # graphql-core settles them in the background
                    _settle(results[key])
                raise
            if len(pending) == 1:
                results[pending[0]] = await results[pending[0]]
            elif pending:
                answers = await gather_with_cancel(*(results[key] for key in pending))
                results.update(zip(pending, answers, strict=True))
        except GraphQLError as error:
            self.errors.add(error, None)
            return ExecutionResult(None, self.errors.errors or None)
        return ExecutionResult(results, self.errors.errors or None)

    def _execute_field(self, root: _RootField) -> Any:
        path = Path(None, root.key, "Query")
        if root.field is None:
            return root.complete(None, None, root.key, self.errors)
        field = root.field
        node = root.details[0].node
        try:
            arguments = (
                get_argument_values(field, node, self.values)
                if field.args or node.arguments
                else {}
            )
            result = field.resolve(self.root_value, self._info(root, path), **arguments)  # type: ignore[misc]
            if optimized_is_awaitable(result):
                return self._complete_later(root, path, result)
            return root.complete(result, None, root.key, self.errors)
        except Exception as raw:
            self.errors.field_error(raw, field.type, root.nodes, path)
            return None

    async def _complete_later(self, root: _RootField, path: Path, result: Awaitable[Any]) -> Any:
        assert root.field is not None
        try:
            return root.complete(await result, None, root.key, self.errors)
        except Exception as raw:
            self.errors.field_error(raw, root.field.type, root.nodes, path)
            return None

    def _info(self, root: _RootField, path: Path) -> GraphQLResolveInfo[Any]:
        assert root.field is not None
        assert self.plan.schema.query_type is not None
        return GraphQLResolveInfo(
            root.details[0].node.name.value,
            root.nodes,
            root.field.type,
            self.plan.schema.query_type,
            path,
            self.plan.schema,
            self.plan.fragment_definitions,
            self.root_value,
            self.plan.operation,
            self.values,
            self.context,
            optimized_is_awaitable,  # type: ignore[arg-type]
            None,
            _HELPERS,
        )


# Awaitables left running after a root field failed, referenced until they settle.
_SETTLING: Final[set[asyncio.Future[Any]]] = set()


def _settle(awaitable: Any) -> None:
    future = asyncio.gather(awaitable, return_exceptions=True)
    _SETTLING.add(future)
    future.add_done_callback(_SETTLING.discard)
