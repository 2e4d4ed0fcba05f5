"""Amazon Personalize's filter expression language (the part that filters items).

Grammar (keywords are case-insensitive, column names are matched upper-case)::

    filter      := expression ("|" expression)*
    expression  := ("INCLUDE" | "EXCLUDE") "ItemID" "WHERE" condition
    condition   := conjunction ("OR" conjunction)*
    conjunction := primary ("AND" primary)*
    primary     := "(" condition ")" | comparison
    comparison  := "Items" "." COLUMN ("IN" | "NOT" "IN") list
                 | "Items" "." COLUMN ("=" | "!=" | "<" | "<=" | ">" | ">=") scalar
                 | "Interactions" "." "EVENT_TYPE" ("IN" | "NOT" "IN") list
    list        := "(" scalar ("," scalar)* ")"
    scalar      := STRING | NUMBER | PLACEHOLDER        e.g. "shoes", 100, $CATEGORY

Expressions joined with `|` combine as Personalize documents it: the INCLUDE results are united,
the EXCLUDE results are united, and the EXCLUDE union is taken out of the INCLUDE union.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from emulator.dataset import Interaction

ItemPredicate: TypeAlias = Callable[[str], bool]

MAX_DISTINCT_FIELDS = 5
"""Personalize's limit on distinct dataset fields in one filter."""

_KEYWORDS = frozenset(
    {"INCLUDE", "EXCLUDE", "ITEMID", "WHERE", "AND", "OR", "NOT", "IN", "ITEMS", "INTERACTIONS"}
)
_OPERATORS = ("<=", ">=", "!=", "=", "<", ">")
_NO_METADATA: Mapping[str, str] = MappingProxyType({})


class FilterSyntaxError(ValueError):
    """A filter expression Personalize would refuse; the message points at the offending column."""

    def __init__(self, text: str, column: int, expected: str, found: str) -> None:
        self.text = text
        self.column = column
        self.expected = expected
        self.found = found
        # Line breaks and tabs would misplace the caret, so the quoted copy shows them as spaces.
        shown = "".join(" " if char.isspace() else char for char in text)
        caret = " " * (column - 1) + "^"
        super().__init__(
            f"expected {expected} but found {found} at column {column}:\n  {shown}\n  {caret}"
        )


class FilterValueError(ValueError):
    """filterValues that do not fit the filter: a missing placeholder or badly quoted values."""


# --- tokens -----------------------------------------------------------------------------------

TokenKind = Literal[
    "WORD", "STRING", "NUMBER", "PLACEHOLDER", "OPERATOR", "LPAREN", "RPAREN", "COMMA", "DOT",
    "PIPE", "END",
]  # fmt: skip
_PUNCTUATION: dict[str, TokenKind] = {
    "(": "LPAREN", ")": "RPAREN", ",": "COMMA", ".": "DOT", "|": "PIPE",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str  # the source text; for STRING the unescaped value, for PLACEHOLDER the name
    column: int  # 1-based

    def describe(self) -> str:
        if self.kind == "END":
            return "the end of the expression"
        if self.kind == "STRING":
            return f'the string "{self.text}"'
        if self.kind == "PLACEHOLDER":
            return f"${self.text}"
        return repr(self.text)


def _tokenize(text: str) -> Iterator[_Token]:
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        column = position + 1
        if char.isspace():
            position += 1
        elif char in _PUNCTUATION:
            yield _Token(_PUNCTUATION[char], char, column)
            position += 1
        elif char == '"':
            value, position = _read_string(text, position)
            yield _Token("STRING", value, column)
        elif char == "$":
            end = _word_end(text, position + 1)
            if end == position + 1:
                raise FilterSyntaxError(
                    text, column + 1, "a placeholder name after $", _at(text, end)
                )
            yield _Token("PLACEHOLDER", text[position + 1 : end], column)
            position = end
        elif char.isdigit() or (char in "-+." and _starts_number(text, position)):
            end = _number_end(text, position)
            yield _Token("NUMBER", text[position:end], column)
            position = end
        elif char.isalpha() or char == "_":
            end = _word_end(text, position)
            yield _Token("WORD", text[position:end], column)
            position = end
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, position)), None)
            if operator is None:
                raise FilterSyntaxError(text, column, "a keyword, value or operator", repr(char))
            yield _Token("OPERATOR", operator, column)
            position += len(operator)
    yield _Token("END", "", length + 1)


def _read_string(text: str, start: int) -> tuple[str, int]:
    chars: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            chars.append(text[position + 1])
            position += 2
        elif char == '"':
            return "".join(chars), position + 1
        else:
            chars.append(char)
            position += 1
    raise FilterSyntaxError(
        text, start + 1, 'a closing " for this string', "the end of the expression"
    )


def _word_end(text: str, position: int) -> int:
    while position < len(text) and (text[position].isalnum() or text[position] == "_"):
        position += 1
    return position


def _starts_number(text: str, position: int) -> bool:
    rest = text[position + 1 : position + 3]
    return bool(rest) and (rest[0].isdigit() or (rest[0] == "." and rest[1:2].isdigit()))


def _number_end(text: str, position: int) -> int:
    end = position + 1
    while end < len(text) and (text[end].isalnum() or text[end] in "._+-"):
        if text[end] in "+-" and text[end - 1] not in "eE":
            break
        end += 1
    return end


def _at(text: str, position: int) -> str:
    return repr(text[position]) if position < len(text) else "the end of the expression"


# --- syntax tree ------------------------------------------------------------------------------

Dataset = Literal["Items", "Interactions"]
Action = Literal["INCLUDE", "EXCLUDE"]


@dataclass(frozen=True, slots=True)
class _Scalar:
    kind: Literal["STRING", "NUMBER", "PLACEHOLDER"]
    text: str


@dataclass(frozen=True, slots=True)
class _Comparison:
    dataset: Dataset
    column: str
    operator: str  # IN, NOT IN, =, !=, <, <=, >, >=
    values: tuple[_Scalar, ...]


@dataclass(frozen=True, slots=True)
class _Junction:
    operator: Literal["AND", "OR"]
    parts: tuple[_Condition, ...]


_Condition: TypeAlias = "_Comparison | _Junction"


@dataclass(frozen=True, slots=True)
class _Expression:
    action: Action
    condition: _Condition
    placeholders: frozenset[str]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokenize(text))
        self.index = 0
        self.fields: set[tuple[str, str]] = set()

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def fail(self, expected: str, token: _Token | None = None) -> FilterSyntaxError:
        token = token or self.token
        return FilterSyntaxError(self.text, token.column, expected, token.describe())

    def advance(self) -> _Token:
        token = self.token
        self.index += 1
        return token

    def is_word(self, *words: str) -> bool:
        return self.token.kind == "WORD" and self.token.text.upper() in words

    def expect_word(self, word: str, shown: str | None = None) -> _Token:
        if not self.is_word(word.upper()):
            raise self.fail(shown or word)
        return self.advance()

    def expect(self, kind: TokenKind, shown: str) -> _Token:
        if self.token.kind != kind:
            raise self.fail(shown)
        return self.advance()

    def parse(self) -> tuple[_Expression, ...]:
        expressions = [self.expression()]
        while self.token.kind == "PIPE":
            self.advance()
            expressions.append(self.expression())
        if self.token.kind != "END":
            raise self.fail("AND, OR, | or the end of the expression")
        return tuple(expressions)

    def expression(self) -> _Expression:
        if not self.is_word("INCLUDE", "EXCLUDE"):
            raise self.fail("INCLUDE or EXCLUDE")
        action: Action = "INCLUDE" if self.advance().text.upper() == "INCLUDE" else "EXCLUDE"
        self.expect_word("ITEMID", "ItemID")
        self.expect_word("WHERE")
        self.dataset: Dataset | None = None
        self.placeholders: set[str] = set()
        condition = self.condition()
        if self.is_word("IF"):
            raise self.fail("AND, OR, | or the end of the expression (IF is not supported here)")
        return _Expression(action, condition, frozenset(self.placeholders))

    def condition(self) -> _Condition:
        parts = [self.conjunction()]
        while self.is_word("OR"):
            self.advance()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else _Junction("OR", tuple(parts))

    def conjunction(self) -> _Condition:
        parts = [self.primary()]
        while self.is_word("AND"):
            self.advance()
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else _Junction("AND", tuple(parts))

    def primary(self) -> _Condition:
        if self.token.kind == "LPAREN":
            self.advance()
            condition = self.condition()
            self.expect("RPAREN", "AND, OR or )")
            return condition
        return self.comparison()

    def comparison(self) -> _Comparison:
        dataset = self.dataset_name()
        self.expect("DOT", ". after the dataset name")
        column_token = self.token
        if column_token.kind != "WORD":
            raise self.fail(f"a column of the {dataset} dataset")
        self.advance()
        column = column_token.text.upper()
        if dataset == "Interactions" and column != "EVENT_TYPE":
            raise self.fail(
                "EVENT_TYPE (Interactions filters use only the event type)", column_token
            )
        self.count_field(dataset, column, column_token)
        if self.is_word("NOT"):
            self.advance()
            if not self.is_word("IN"):
                raise self.fail("IN after NOT")
            self.advance()
            values = self.value_list(allow_placeholder=False)
            return _Comparison(dataset, column, "NOT IN", values)
        if self.is_word("IN"):
            self.advance()
            return _Comparison(dataset, column, "IN", self.value_list(allow_placeholder=True))
        if self.token.kind == "OPERATOR":
            if dataset == "Interactions":
                raise self.fail("IN or NOT IN (event types are compared as strings)")
            operator = self.advance().text
            return _Comparison(dataset, column, operator, (self.number(),))
        expected = (
            "IN or NOT IN" if dataset == "Interactions" else "IN, NOT IN, =, !=, <, <=, > or >="
        )
        raise self.fail(expected)

    def dataset_name(self) -> Dataset:
        if not self.is_word("ITEMS", "INTERACTIONS"):
            raise self.fail(self.dataset or "Items or Interactions")
        token = self.token
        dataset: Dataset = "Items" if token.text.upper() == "ITEMS" else "Interactions"
        if self.dataset is not None and dataset != self.dataset:
            raise self.fail(
                f"{self.dataset} (conditions joined with AND/OR use the dataset of the first; "
                "combine datasets with |)"
            )
        self.dataset = dataset
        self.advance()
        return dataset

    def count_field(self, dataset: str, column: str, token: _Token) -> None:
        self.fields.add((dataset, column))
        if len(self.fields) > MAX_DISTINCT_FIELDS:
            raise self.fail(
                f"at most {MAX_DISTINCT_FIELDS} distinct dataset fields in one filter", token
            )

    def value_list(self, *, allow_placeholder: bool) -> tuple[_Scalar, ...]:
        self.expect("LPAREN", "( to open the list of values")
        values = [self.scalar(allow_placeholder=allow_placeholder)]
        while self.token.kind == "COMMA":
            self.advance()
            values.append(self.scalar(allow_placeholder=allow_placeholder))
        self.expect("RPAREN", ", or ) to close the list of values")
        return tuple(values)

    def scalar(self, *, allow_placeholder: bool) -> _Scalar:
        token = self.token
        if token.kind == "STRING":
            self.advance()
            return _Scalar("STRING", token.text)
        if token.kind == "NUMBER" and _to_float(token.text) is not None:
            self.advance()
            return _Scalar("NUMBER", token.text)
        if token.kind == "PLACEHOLDER":
            if not allow_placeholder:
                raise self.fail('a "string" or number (NOT IN takes no placeholders; use IN)')
            self.advance()
            self.placeholders.add(token.text)
            return _Scalar("PLACEHOLDER", token.text)
        expected = (
            'a "string", number or $PLACEHOLDER' if allow_placeholder else 'a "string" or number'
        )
        raise self.fail(expected)

    def number(self) -> _Scalar:
        token = self.token
        if token.kind == "PLACEHOLDER":
            self.advance()
            self.placeholders.add(token.text)
            return _Scalar("PLACEHOLDER", token.text)
        if token.kind == "NUMBER" and _to_float(token.text) is not None:
            self.advance()
            return _Scalar("NUMBER", token.text)
        raise self.fail("a number or $PLACEHOLDER")


# --- evaluation -------------------------------------------------------------------------------


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_filter_values(key: str, raw: str) -> list[str]:
    """Split one filterValues entry in Personalize's quoting: `"\\"a\\",\\"b\\""` or `"100"`."""
    values: list[str] = []
    position = 0
    length = len(raw)
    while True:
        while position < length and raw[position].isspace():
            position += 1
        if position < length and raw[position] == '"':
            chars: list[str] = []
            position += 1
            while position < length and raw[position] != '"':
                if raw[position] == "\\" and position + 1 < length:
                    position += 1
                chars.append(raw[position])
                position += 1
            if position >= length:
                raise FilterValueError(
                    f"filterValues[{key!r}]: unterminated quoted value in {raw!r}; quote each "
                    'value as \\"value\\" and separate values with commas'
                )
            values.append("".join(chars))
            position += 1
        else:
            end = raw.find(",", position)
            end = length if end == -1 else end
            bare = raw[position:end].strip()
            if _to_float(bare) is None:
                raise FilterValueError(
                    f"filterValues[{key!r}]: {bare!r} in {raw!r} is neither a number nor a quoted "
                    'string; quote string values as \\"value\\"'
                )
            values.append(bare)
            position = end
        while position < length and raw[position].isspace():
            position += 1
        if position >= length:
            return values
        if raw[position] != ",":
            raise FilterValueError(
                f"filterValues[{key!r}]: expected a comma after a value at position "
                f"{position + 1} of {raw!r}"
            )
        position += 1


class _Binder:
    def __init__(
        self,
        values: Mapping[str, str],
        items: Mapping[str, Mapping[str, str]],
        history: Sequence[Interaction],
    ) -> None:
        self.values = values
        self.items = items
        self.history = history
        self.resolved: dict[str, list[str]] = {}
        self._event_types: dict[str, frozenset[str]] | None = None

    def placeholder(self, name: str) -> list[str]:
        if name not in self.resolved:
            self.resolved[name] = parse_filter_values(name, self.values[name])
        return self.resolved[name]

    def strings(self, scalars: Sequence[_Scalar]) -> frozenset[str]:
        out: set[str] = set()
        for scalar in scalars:
            if scalar.kind == "PLACEHOLDER":
                out.update(self.placeholder(scalar.text))
            else:
                out.add(scalar.text)
        return frozenset(out)

    def number(self, scalar: _Scalar) -> float:
        if scalar.kind != "PLACEHOLDER":
            return float(scalar.text)
        parsed = self.placeholder(scalar.text)
        raw = self.values[scalar.text]
        number = _to_float(raw.strip())
        if len(parsed) != 1 or number is None:
            raise FilterValueError(
                f'filterValues[{scalar.text!r}]: expected one unquoted number such as "100" '
                f"for a numeric comparison, got {raw!r}"
            )
        return number

    @property
    def event_types(self) -> dict[str, frozenset[str]]:
        """The lower-cased event types of the user's interactions with each item."""
        if self._event_types is None:
            by_item: dict[str, set[str]] = {}
            for interaction in self.history:
                by_item.setdefault(interaction.item_id, set()).add(interaction.event_type.lower())
            self._event_types = {item: frozenset(types) for item, types in by_item.items()}
        return self._event_types

    def compile(self, condition: _Condition) -> ItemPredicate:
        if isinstance(condition, _Junction):
            parts = [self.compile(part) for part in condition.parts]
            if condition.operator == "AND":
                return lambda item_id: all(part(item_id) for part in parts)
            return lambda item_id: any(part(item_id) for part in parts)
        if condition.dataset == "Interactions":
            return self.compile_interactions(condition)
        return self.compile_items(condition)

    def compile_interactions(self, comparison: _Comparison) -> ItemPredicate:
        wanted = frozenset(value.lower() for value in self.strings(comparison.values))
        event_types = self.event_types
        negate = comparison.operator == "NOT IN"
        if "*" in wanted:
            return (lambda _item_id: False) if negate else event_types.__contains__

        def matches(item_id: str) -> bool:
            types = event_types.get(item_id)
            if types is None:
                return False
            return bool(types - wanted) if negate else not types.isdisjoint(wanted)

        return matches

    def compile_items(self, comparison: _Comparison) -> ItemPredicate:
        items = self.items
        column = comparison.column
        operator = comparison.operator
        if operator in ("IN", "NOT IN"):
            wanted = self.strings(comparison.values)
            negate = operator == "NOT IN"

            def contains(item_id: str) -> bool:
                raw = items.get(item_id, _NO_METADATA).get(column)
                if raw is None:
                    return negate
                # Categorical fields hold several values separated by |.
                found = not wanted.isdisjoint(raw.split("|")) if "|" in raw else raw in wanted
                return found != negate

            return contains
        bound = self.number(comparison.values[0])
        compare = _COMPARATORS[operator]

        def compares(item_id: str) -> bool:
            raw = items.get(item_id, _NO_METADATA).get(column)
            value = None if raw is None else _to_float(raw)
            return value is not None and compare(value, bound)

        return compares


_COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "=": float.__eq__,
    "!=": float.__ne__,
    "<": float.__lt__,
    "<=": float.__le__,
    ">": float.__gt__,
    ">=": float.__ge__,
}


@dataclass(frozen=True)
class FilterExpression:
    """A parsed filter expression, bound per request to filterValues and the user's history."""

    text: str
    placeholders: frozenset[str]
    _expressions: tuple[_Expression, ...] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, text: str) -> FilterExpression:
        expressions = _Parser(text).parse()
        placeholders = frozenset[str]().union(
            *(expression.placeholders for expression in expressions)
        )
        return cls(text, placeholders, expressions)

    @property
    def item_columns(self) -> frozenset[str]:
        """The Items columns the filter reads (upper-case)."""
        columns: set[str] = set()
        pending: list[_Condition] = [expression.condition for expression in self._expressions]
        while pending:
            condition = pending.pop()
            if isinstance(condition, _Junction):
                pending.extend(condition.parts)
            elif condition.dataset == "Items":
                columns.add(condition.column)
        return frozenset(columns)

    def bind(
        self,
        values: Mapping[str, str],
        *,
        items: Mapping[str, Mapping[str, str]],
        history: Sequence[Interaction],
    ) -> ItemPredicate:
        """The predicate of this filter for one request.

        An INCLUDE expression needs every one of its placeholders in `values`; an EXCLUDE
        expression with a missing placeholder is left out, as Personalize does.
        """
        binder = _Binder(values, items, history)
        includes: list[ItemPredicate] = []
        excludes: list[ItemPredicate] = []
        for expression in self._expressions:
            missing = sorted(expression.placeholders - values.keys())
            if missing and expression.action == "EXCLUDE":
                continue
            if missing:
                raise FilterValueError(
                    f"filterValues has no value for ${missing[0]}, which this filter's INCLUDE "
                    f"expression needs ({self.text})"
                )
            predicate = binder.compile(expression.condition)
            (includes if expression.action == "INCLUDE" else excludes).append(predicate)
        return _combine(includes, excludes)


def _combine(includes: list[ItemPredicate], excludes: list[ItemPredicate]) -> ItemPredicate:
    if not excludes and len(includes) == 1:
        return includes[0]
    if not includes and len(excludes) == 1:
        exclude = excludes[0]
        return lambda item_id: not exclude(item_id)

    def accept(item_id: str) -> bool:
        if includes and not any(include(item_id) for include in includes):
            return False
        return not any(exclude(item_id) for exclude in excludes)

    return accept
