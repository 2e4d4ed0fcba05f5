"""Parsed and validated documents kept across requests: apps send the same few documents."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import partial

from graphql import GraphQLError
from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache


class ParsedDocuments(ParserCache):
    """Strawberry's ParserCache, with documents that fail to parse left to Strawberry.

    ParserCache parses in its `on_parse` hook, where a syntax error (a document over the token
    limit included) escapes Strawberry's handling and reaches the client without the
    GRAPHQL_PARSE_FAILED code. Here such a document is parsed again by Strawberry, which
    reports it as usual; the token limit bounds that second parse. The cache is keyed by the
    parse options, the token limit among them, and never holds a document that failed.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


def document_caches(maxsize: int) -> list[Callable[[], SchemaExtension]]:
    """The schema extensions keeping the last `maxsize` documents parsed and validated.

    Both caches live for the process, shared by every schema built with the same `maxsize`.
    A validation is reused only for the same schema, document and validation rules, so each
    limit's rule still applies (build the rules once per schema, or nothing is reused).
    """
    return [
        partial(ParsedDocuments, maxsize=maxsize),
        partial(ValidationCache, maxsize=maxsize),
    ]
