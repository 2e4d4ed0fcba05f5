"""Cached parses and validations: reused for the same document, and every limit still holds."""

from __future__ import annotations

import uuid
from typing import Any

from strawberry.extensions import ValidationCache

from schema import DOCUMENT_CACHE_SIZE, Context, build_schema
from schema.document_cache import ParsedDocuments

ELEVEN_TOKENS = '{ item(id: "i1") { id } }'  # { item ( id : "i1" ) { id } }
TWO_ALIASES = '{ a: item(id: "i1") { id } b: item(id: "i2") { id } }'
DEPTH_4 = '{ relatedItems(itemId: "i1") { items { item { id } } } }'
INTROSPECTION = "{ __schema { queryType { name } } }"


def errors_of(result: Any) -> list[tuple[str, str]]:
    return [(error.extensions["code"], error.message) for error in result.errors or ()]


def counts() -> tuple[int, int, int, int]:
    """Misses and hits of the process's parse and validation caches, so far."""
    parsed = cache_info(ParsedDocuments(maxsize=DOCUMENT_CACHE_SIZE).cached_parse_document)
    validated = cache_info(ValidationCache(maxsize=DOCUMENT_CACHE_SIZE).cached_validate_document)
    return parsed.misses, parsed.hits, validated.misses, validated.hits


def cache_info(cached: Any) -> Any:
    """The statistics of a function wrapped by functools.lru_cache."""
    return cached.cache_info()


async def test_document_cache_parses_and_validates_a_document_sent_again_once(
    context: Context,
) -> None:
    schema = build_schema(plan_cache_size=0)  # a planned query would not ask the caches
    query = f'query Q{uuid.uuid4().hex} {{ item(id: "i1") {{ id }} }}'  # new to the caches
    before = counts()

    results = [await schema.execute(query, context_value=context) for _ in range(3)]

    after = counts()
    assert (
        [errors_of(result) for result in results],
        tuple(now - then for now, then in zip(after, before, strict=True)),
    ) == ([[], [], []], (1, 2, 1, 2))


async def test_document_cache_refuses_a_document_over_the_token_limit_every_time(
    context: Context,
) -> None:
    schema = build_schema(max_tokens=10)

    results = [await schema.execute(ELEVEN_TOKENS, context_value=context) for _ in range(2)]

    assert [errors_of(result) for result in results] == 2 * [
        [
            (
                "GRAPHQL_PARSE_FAILED",
                "Syntax Error: Document contains more than 10 tokens. Parsing aborted.",
            )
        ]
    ]


async def test_document_cache_token_limit_holds_for_a_document_a_laxer_schema_parsed(
    context: Context,
) -> None:
    await build_schema(max_tokens=100).execute(ELEVEN_TOKENS, context_value=context)

    result = await build_schema(max_tokens=10).execute(ELEVEN_TOKENS, context_value=context)

    assert [code for code, _ in errors_of(result)] == ["GRAPHQL_PARSE_FAILED"]


async def test_document_cache_alias_limit_holds_for_a_document_a_laxer_schema_validated(
    context: Context,
) -> None:
    await build_schema(max_aliases=5).execute(TWO_ALIASES, context_value=context)

    result = await build_schema(max_aliases=1).execute(TWO_ALIASES, context_value=context)

    assert errors_of(result) == [("GRAPHQL_VALIDATION_FAILED", "2 aliases found. Allowed: 1")]


async def test_document_cache_depth_limit_refuses_a_document_every_time(context: Context) -> None:
    schema = build_schema(max_depth=3)

    results = [await schema.execute(DEPTH_4, context_value=context) for _ in range(2)]

    assert [errors_of(result) for result in results] == 2 * [
        [
            (
                "GRAPHQL_VALIDATION_FAILED",
                "The operation nests fields 4 levels deep; the limit is 3.",
            )
        ]
    ]


async def test_document_cache_introspection_off_refuses_what_another_schema_answered(
    context: Context,
) -> None:
    await build_schema(introspection=True).execute(INTROSPECTION, context_value=context)

    result = await build_schema(introspection=False).execute(INTROSPECTION, context_value=context)

    assert (result.data, {code for code, _ in errors_of(result)}) == (
        None,
        {"GRAPHQL_VALIDATION_FAILED"},
    )
