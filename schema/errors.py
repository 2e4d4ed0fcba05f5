"""Errors clients see, each with a code in `extensions.code`; the extension hiding the rest."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import ClassVar

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

logger = logging.getLogger(__name__)

GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
INTERNAL_SERVER_ERROR_MESSAGE = "Internal server error."


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


ERROR_CODES = frozenset(
    {
        *(error.code for error in ApiError.__subclasses__()),
        GRAPHQL_PARSE_FAILED,
        GRAPHQL_VALIDATION_FAILED,
        INTERNAL_SERVER_ERROR,
    }
)
"""Every `extensions.code` a client can receive."""


class MaskInternalErrors(SchemaExtension):
    """Gives every error a code and hides the ones not meant for clients.

    Kept as they are: `ApiError`s and GraphQL's own syntax, validation and variable errors (these
    get GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED and BAD_USER_INPUT). Anything else becomes
    INTERNAL_SERVER_ERROR with a generic message, and the original goes to the log with its
    traceback. Register the class, not an instance: it holds per-operation state.
    """

    def __init__(self, *, execution_context: ExecutionContext | None = None) -> None:
        self._validation_errors: list[GraphQLError] = []

    def on_validate(self) -> Iterator[None]:
        yield
        self._validation_errors = list(self.execution_context.pre_execution_errors or ())

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [self._present(error) for error in result.errors]

    def _present(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, ApiError):
            return error
        if isinstance(error, GraphQLSyntaxError):
            return with_code(error, GRAPHQL_PARSE_FAILED)
        if any(error is known for known in self._validation_errors):
            return with_code(error, GRAPHQL_VALIDATION_FAILED)
        if is_variable_error(error):
            return with_code(error, BadUserInput.code)
        logger.error(
            "Unexpected error at %s: %s",
            error.path,
            error.message,
            exc_info=error.original_error or error,
        )
        return GraphQLError(
            INTERNAL_SERVER_ERROR_MESSAGE,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": INTERNAL_SERVER_ERROR},
        )


def is_variable_error(error: GraphQLError) -> bool:
    """Whether graphql-core refused the operation's variables (before running any resolver)."""
    return error.path is None and (
        error.original_error is None or type(error.original_error) is GraphQLError
    )


def with_code(error: GraphQLError, code: str) -> GraphQLError:
    """The same error with `code` added to its extensions."""
    return GraphQLError(
        error.message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions={**(error.extensions or {}), "code": code},
    )
