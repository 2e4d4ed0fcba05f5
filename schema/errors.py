"""Errors clients see, each with a code in `extensions.code`; the extension hiding the rest."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import ClassVar, Final

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult

from schema.ports import (
    CatalogUnavailable,
    InvalidInput,
    PortError,
    ResourceNotFound,
    Throttled,
    Unavailable,
)

logger = logging.getLogger(__name__)

BAD_REQUEST = "BAD_REQUEST"  # the HTTP request itself is unusable (not JSON, too large...)
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
INTERNAL_SERVER_ERROR_MESSAGE = "Internal server error."
# Apollo's persisted-query protocol: the client is to send the query in full (gateway/
# persisted_queries.py).
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"


class ApiError(GraphQLError):
    """An error meant for the client: its message is safe to show and says what is wrong."""

    code: ClassVar[str]

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class BadUserInput(ApiError):
    """The request asks for something invalid: an argument out of its limits, an unknown filter."""

    code = "BAD_USER_INPUT"


class NotFound(ApiError):
    """Something the request names (a campaign, a filter, an item) does not exist."""

    code = "NOT_FOUND"


class Unauthenticated(ApiError):
    """The request carries no valid credentials."""

    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"


class UpstreamThrottled(ApiError):
    """Personalize is throttling us; the client may retry later."""

    code = "UPSTREAM_THROTTLED"


class UpstreamUnavailable(ApiError):
    """Personalize did not answer properly (timeout, connection error, 5xx)."""

    code = "UPSTREAM_UNAVAILABLE"


class CatalogUnavailableError(ApiError):
    """The catalog did not answer: the items it should have described are null.

    One per query, whatever the number of items: `extensions.paths` lists their paths.
    """

    code = "CATALOG_UNAVAILABLE"

    def __init__(self, message: str, paths: list[list[str | int]]) -> None:
        GraphQLError.__init__(self, message, extensions={"code": self.code, "paths": paths})


_PORT_ERROR_CODES: Final = (
    (CatalogUnavailable, CatalogUnavailableError.code),
    (InvalidInput, BadUserInput.code),
    (ResourceNotFound, NotFound.code),
    (Throttled, UpstreamThrottled.code),
    (Unavailable, UpstreamUnavailable.code),
)


def code_of(error: PortError) -> str:
    """The `extensions.code` clients see for a port's exception: its one translation."""
    for kind, code in _PORT_ERROR_CODES:
        if isinstance(error, kind):
            return code
    return INTERNAL_SERVER_ERROR


ERROR_CODES = frozenset(
    {
        *(error.code for error in ApiError.__subclasses__()),
        BAD_REQUEST,
        GRAPHQL_PARSE_FAILED,
        GRAPHQL_VALIDATION_FAILED,
        INTERNAL_SERVER_ERROR,
        PERSISTED_QUERY_NOT_FOUND,
        PERSISTED_QUERY_NOT_SUPPORTED,
    }
)
"""Every `extensions.code` a client can receive."""


class MaskInternalErrors(SchemaExtension):
    """Gives every error a code and hides the ones not meant for clients.

    Kept as they are: `ApiError`s; the ports' exceptions get their code (`code_of`); GraphQL's
    own syntax, validation and variable errors (these
    get GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED and BAD_USER_INPUT). Anything else becomes
    INTERNAL_SERVER_ERROR with a generic message, and the original goes to the log with its
    traceback. Register the class (or a `functools.partial` of it), not an instance: it holds
    per-operation state.

    In production, `hide_suggestions` drops graphql-core's "Did you mean …?" hints, which would
    otherwise spell out the schema that disabled introspection hides. In development,
    `show_details` adds the unexpected exception's type and message (never its traceback) to
    the generic message.
    """

    def __init__(
        self,
        *,
        execution_context: ExecutionContext | None = None,
        hide_suggestions: bool = False,
        show_details: bool = False,
    ) -> None:
        self._validation_errors: list[GraphQLError] = []
        self._hide_suggestions = hide_suggestions
        self._show_details = show_details

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = list(self.execution_context.pre_execution_errors or ())

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if isinstance(result, ExecutionResult | GraphQLExecutionResult):
            self.finish(result, self.execution_context.context)

    def finish(self, result: ExecutionResult | GraphQLExecutionResult, context: object) -> None:
        """Code or mask `result`'s errors, and add the query's CATALOG_UNAVAILABLE error.

        Also what an execution plan's result goes through (schema/plans.py), so that a
        planned query and graphql-core's answer alike.
        """
        if result.errors:
            result.errors = [self._present(error) for error in result.errors]
        paths = getattr(context, "unavailable_item_paths", None)
        failure = getattr(context, "catalog_failure", None)
        if paths and failure is not None:
            # The recommendations stand; their items are null, explained once for the query.
            error = CatalogUnavailableError(failure.message, sorted(paths, key=_path_order))
            result.errors = [*(result.errors or ()), error]

    def _present(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, ApiError):
            return error
        if isinstance(error.original_error, PortError):
            return with_code(error, code_of(error.original_error))
        if isinstance(error, GraphQLSyntaxError):
            return with_code(error, GRAPHQL_PARSE_FAILED)
        if any(error is known for known in self._validation_errors):
            return self._with_code(error, GRAPHQL_VALIDATION_FAILED)
        if is_variable_error(error):
            return self._with_code(error, BadUserInput.code)
        logger.error(
            "Unexpected error at %s: %s",
            error.path,
            error.message,
            exc_info=error.original_error or error,
        )
        message = INTERNAL_SERVER_ERROR_MESSAGE
        if self._show_details:
            cause = error.original_error or error
            message = f"{message} {type(cause).__name__}: {cause}"
        return GraphQLError(
            message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_SERVER_ERROR},
        )

    def _with_code(self, error: GraphQLError, code: str) -> GraphQLError:
        if self._hide_suggestions:
            return with_code(error, code, message=_SUGGESTION.sub("", error.message))
        return with_code(error, code)


def _path_order(path: list[str | int]) -> tuple[str, ...]:
    return tuple(f"{part:010d}" if isinstance(part, int) else part for part in path)


_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)


def is_variable_error(error: GraphQLError) -> bool:
    """Whether graphql-core refused the operation's variables (before running any resolver).

    A scalar refusing a value raises a GraphQLError of its own (Strawberry's
    StrawberryInputCoercionError for a DateTime that is not a string): the client's mistake too.
    """
    return error.path is None and (
        error.original_error is None or isinstance(error.original_error, GraphQLError)
    )


def with_code(error: GraphQLError, code: str, *, message: str | None = None) -> GraphQLError:
    """The same error (or `message` instead of its own) with `code` added to its extensions."""
    return GraphQLError(
        error.message if message is None else message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )
