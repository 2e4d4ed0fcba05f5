"""JSON from an untrusted body, with its nesting and its numbers bounded.

Python's `json` recurses once per level (50,000 nested brackets end in RecursionError) and turns
a 5,000-digit integer into a ValueError, or spends quadratic time on longer ones. The depth is
checked by one linear scan before parsing, the numbers while parsing.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
MAX_NUMBER_CHARACTERS = 64

# A string (its brackets do not count; an unterminated one runs to the end) or a bracket.
_STRUCTURE = re.compile(rb'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)


class UnboundedJson(ValueError):
    """The body is not JSON, or is JSON beyond the bounds; the message says which."""


def loads_bounded(
    body: bytes, *, max_depth: int = MAX_DEPTH, max_number: int = MAX_NUMBER_CHARACTERS
) -> Any:
    """The JSON value of `body`; UnboundedJson when it is malformed or nests deeper than
    `max_depth` or holds a number written with more than `max_number` characters."""
    depth = 0
    for match in _STRUCTURE.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise UnboundedJson(f"JSON nested deeper than {max_depth} levels.")
        elif token in (b"]", b"}"):
            depth -= 1

    def number(text: str, kind: type[int] | type[float]) -> int | float:
        if len(text) > max_number:
            raise UnboundedJson(f"A JSON number longer than {max_number} characters.")
        return kind(text)

    def constant(text: str) -> Any:
        raise UnboundedJson(f"{text} is not JSON.")

    try:
        return json.loads(
            body,
            parse_int=lambda text: number(text, int),
            parse_float=lambda text: number(text, float),
            parse_constant=constant,
        )
    except UnicodeDecodeError:
        raise UnboundedJson("Malformed JSON: the body is not UTF-8 text.") from None
    except json.JSONDecodeError as error:
        raise UnboundedJson(
            f"Malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        ) from None
