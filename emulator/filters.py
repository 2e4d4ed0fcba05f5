"""Amazon Personalize's filter expression language (the part that filters items).

Grammar (keywords are case-insensitive, column names are matched upper-case)::

    filter      := expression ("|" expression)*
    expression  := ("INCLUDE" | "EXCLUDE") "ItemID" "WHERE" condition ["IF" user_test]
    condition   := conjunction ("OR" conjunction)*
    conjunction := primary ("AND" primary)*
    primary     := "(" condition ")" | comparison
    comparison  := "Items" "." COLUMN ("IN" | "NOT" "IN") (list | current)
                 | "Items" "." COLUMN ("=" | "!=" | "<" | "<=" | ">" | ">=") (scalar | current)
                 | "Interactions" "." "EVENT_TYPE" ("IN" | "NOT" "IN") list
    user_test   := user_check ("AND" user_check)*
    user_check  := "CurrentUser" "." COLUMN (("IN" | "NOT" "IN") list | OPERATOR scalar)
    current     := "CurrentItem" "." COLUMN          (related-items requests only)
    list        := "(" scalar ("," scalar)* ")"
    scalar      := STRING | NUMBER | PLACEHOLDER        e.g. "shoes", 100, $CATEGORY

Expressions joined with `|` combine as Personalize documents it: the INCLUDE results are united,
the EXCLUDE results are united, and the EXCLUDE union is taken out of the INCLUDE union. An
expression whose IF test fails for the current user (or whose user lacks the field) is left out.
Elements and examples: https://docs.aws.amazon.com/personalize/latest/dg/creating-filter-expressions.html
and https://docs.aws.amazon.com/personalize/latest/dg/item-recommendation-filter-examples.html

A bound filter tells the recommender, when it can, a superset of the items it accepts (from an
index of item ids by column value), so a filter keeping few items does not walk the catalog.
"""

from __future__ import annotations

import bisect
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

INTERACTIONS_PER_EVENT_TYPE = 100
"""Filters consider each user's 100 most recent interactions per event type:
https://docs.aws.amazon.com/personalize/latest/dg/filter-expressions.html"""

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

Dataset = Literal["Items", "Interactions", "CurrentUser"]
Action = Literal["INCLUDE", "EXCLUDE"]


@dataclass(frozen=True, slots=True)
class _Scalar:
    kind: Literal["STRING", "NUMBER", "PLACEHOLDER", "CURRENT_ITEM"]
    text: str  # for CURRENT_ITEM, the column of the current item


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
    user_test: tuple[_Comparison, ...] = ()  # IF CurrentUser... (all must hold)


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
        user_test: list[_Comparison] = []
        if self.is_word("IF"):
            self.advance()
            user_test.append(self.user_check())
            while self.is_word("AND"):
                self.advance()
                user_test.append(self.user_check())
        return _Expression(action, condition, frozenset(self.placeholders), tuple(user_test))

    def user_check(self) -> _Comparison:
        if not self.is_word("CURRENTUSER"):
            raise self.fail("CurrentUser (IF tests only the current user's fields)")
        self.advance()
        self.expect("DOT", ". after CurrentUser")
        column_token = self.token
        if column_token.kind != "WORD":
            raise self.fail("a column of the Users dataset")
        self.advance()
        column = column_token.text.upper()
        self.count_field("Users", column, column_token)
        if self.is_word("NOT"):
            self.advance()
            if not self.is_word("IN"):
                raise self.fail("IN after NOT")
            self.advance()
            values = self.value_list(allow_placeholder=False)
            return _Comparison("CurrentUser", column, "NOT IN", values)
        if self.is_word("IN"):
            self.advance()
            return _Comparison("CurrentUser", column, "IN", self.value_list(allow_placeholder=True))
        if self.token.kind == "OPERATOR":
            operator = self.advance().text
            return _Comparison("CurrentUser", column, operator, (self.number(),))
        raise self.fail("IN, NOT IN, =, !=, <, <=, > or >=")

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
            if dataset == "Items" and self.is_word("CURRENTITEM"):
                return _Comparison(dataset, column, "IN", (self.current_item(),))
            return _Comparison(dataset, column, "IN", self.value_list(allow_placeholder=True))
        if self.token.kind == "OPERATOR":
            if dataset == "Interactions":
                raise self.fail("IN or NOT IN (event types are compared as strings)")
            operator = self.advance().text
            if self.is_word("CURRENTITEM"):
                return _Comparison(dataset, column, operator, (self.current_item(),))
            return _Comparison(dataset, column, operator, (self.number(),))
        expected = (
            "IN or NOT IN" if dataset == "Interactions" else "IN, NOT IN, =, !=, <, <=, > or >="
        )
        raise self.fail(expected)

    def current_item(self) -> _Scalar:
        self.advance()
        self.expect("DOT", ". after CurrentItem")
        token = self.token
        if token.kind != "WORD":
            raise self.fail("a column of the Items dataset")
        self.advance()
        return _Scalar("CURRENT_ITEM", token.text.upper())

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


class ItemIndex:
    """Item ids by the values of each Items column, built per column on first use.

    Categorical values separated by | are indexed one by one. `put` keeps the index current when
    an item is added or replaced (PutItems).
    """

    def __init__(self, items: Mapping[str, Mapping[str, str]]) -> None:
        self._items = items
        self._values: dict[str, dict[str, set[str]]] = {}
        self._frozen: dict[tuple[str, str], frozenset[str]] = {}
        self._numbers: dict[str, tuple[list[float], list[str]]] = {}

    def with_value(self, column: str, value: str) -> frozenset[str]:
        """The ids of the items whose `column` holds `value`."""
        key = (column, value)
        found = self._frozen.get(key)
        if found is None:
            found = self._frozen[key] = frozenset(self._column(column).get(value, ()))
        return found

    def with_any(self, column: str, values: frozenset[str]) -> frozenset[str]:
        if len(values) == 1:
            return self.with_value(column, next(iter(values)))
        return frozenset[str]().union(*(self.with_value(column, value) for value in values))

    def compared(self, column: str, operator: str, bound: float) -> frozenset[str] | None:
        """The ids of the items whose numeric `column` compares to `bound`; None for !=."""
        if operator == "!=":
            return None
        numbers = self._numbers.get(column)
        if numbers is None:
            pairs = sorted(
                (number, item_id)
                for item_id, metadata in self._items.items()
                if (number := _number_of(metadata.get(column))) is not None
            )
            numbers = self._numbers[column] = ([n for n, _ in pairs], [i for _, i in pairs])
        values, ids = numbers
        low, high = 0, len(values)
        if operator in ("<", "<="):
            high = (bisect.bisect_left if operator == "<" else bisect.bisect_right)(values, bound)
        elif operator in (">", ">="):
            low = (bisect.bisect_right if operator == ">" else bisect.bisect_left)(values, bound)
        else:  # =
            low, high = bisect.bisect_left(values, bound), bisect.bisect_right(values, bound)
        return frozenset(ids[low:high])

    def put(self, item_id: str, old: Mapping[str, str], new: Mapping[str, str]) -> None:
        """Move `item_id` from its `old` metadata to its `new` metadata."""
        for column, values in self._values.items():
            for value in _split(old.get(column)):
                values.get(value, set()).discard(item_id)
            for value in _split(new.get(column)):
                values.setdefault(value, set()).add(item_id)
        self._frozen.clear()
        self._numbers.clear()

    def _column(self, column: str) -> dict[str, set[str]]:
        values = self._values.get(column)
        if values is None:
            values = self._values[column] = {}
            for item_id, metadata in self._items.items():
                for value in _split(metadata.get(column)):
                    values.setdefault(value, set()).add(item_id)
        return values


def _split(raw: str | None) -> list[str]:
    if raw is None:
        return []
    return raw.split("|") if "|" in raw else [raw]


def _number_of(raw: str | None) -> float | None:
    return None if raw is None else _to_float(raw)


class ItemFilter:
    """A filter bound to one request: call it with an item id to know if the item is kept.

    `candidates`, when not None, holds every item the filter can keep (and maybe more), so a
    recommender may look at those alone.
    """

    __slots__ = ("accept", "candidates")

    def __init__(self, accept: ItemPredicate, candidates: frozenset[str] | None = None) -> None:
        self.accept = accept
        self.candidates = candidates

    def __call__(self, item_id: str) -> bool:
        return self.accept(item_id)


_Part = tuple[ItemPredicate, "frozenset[str] | None"]


class _Binder:
    def __init__(
        self,
        values: Mapping[str, str],
        items: Mapping[str, Mapping[str, str]],
        history: Sequence[Interaction],
        index: ItemIndex | None,
        current_item: Mapping[str, str] | None,
        user: Mapping[str, str],
    ) -> None:
        self.values = values
        self.items = items
        self.history = history
        self.index = index
        self.current_item = current_item
        self.user = user
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
            elif scalar.kind == "CURRENT_ITEM":
                out.update(_split(self.current(scalar.text)))
            else:
                out.add(scalar.text)
        return frozenset(out)

    def current(self, column: str) -> str | None:
        if self.current_item is None:
            raise FilterValueError(
                f"CurrentItem.{column}: a filter with CurrentItem applies only to related items "
                "(an itemId and a related-items recipe)"
            )
        return self.current_item.get(column)

    def number(self, scalar: _Scalar) -> float | None:
        """The bound of a numeric comparison; None when the current item has no such number."""
        if scalar.kind == "CURRENT_ITEM":
            return _number_of(self.current(scalar.text))
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
        """The lower-cased event types of the user's interactions with each item, counting only
        the INTERACTIONS_PER_EVENT_TYPE newest interactions of each type."""
        if self._event_types is None:
            by_item: dict[str, set[str]] = {}
            counts: dict[str, int] = {}
            for interaction in reversed(self.history):
                event_type = interaction.event_type.lower()
                count = counts.get(event_type, 0)
                if count == INTERACTIONS_PER_EVENT_TYPE:
                    continue
                counts[event_type] = count + 1
                by_item.setdefault(interaction.item_id, set()).add(event_type)
            self._event_types = {item: frozenset(types) for item, types in by_item.items()}
        return self._event_types

    def applies(self, test: Sequence[_Comparison]) -> bool:
        """Whether the IF test holds for the current user (a missing field fails it)."""
        for comparison in test:
            raw = self.user.get(comparison.column)
            if raw is None:
                return False
            if comparison.operator in ("IN", "NOT IN"):
                found = not self.strings(comparison.values).isdisjoint(_split(raw))
                if found != (comparison.operator == "IN"):
                    return False
                continue
            value, bound = _to_float(raw), self.number(comparison.values[0])
            if value is None or bound is None:
                return False
            if not _COMPARATORS[comparison.operator](value, bound):
                return False
        return True

    def compile(self, condition: _Condition) -> _Part:
        if isinstance(condition, _Junction):
            parts = [self.compile(part) for part in condition.parts]
            predicates = [predicate for predicate, _ in parts]
            known = [candidates for _, candidates in parts if candidates is not None]
            if condition.operator == "AND":
                narrowed = frozenset.intersection(*known) if known else None
                return (lambda item_id: all(part(item_id) for part in predicates)), narrowed
            united = frozenset[str]().union(*known) if len(known) == len(parts) else None
            return (lambda item_id: any(part(item_id) for part in predicates)), united
        if condition.dataset == "Interactions":
            return self.compile_interactions(condition)
        return self.compile_items(condition)

    def compile_interactions(self, comparison: _Comparison) -> _Part:
        wanted = frozenset(value.lower() for value in self.strings(comparison.values))
        event_types = self.event_types
        negate = comparison.operator == "NOT IN"
        if "*" in wanted:
            if negate:
                return (lambda _item_id: False), frozenset()
            return event_types.__contains__, frozenset(event_types)

        def matches(item_id: str) -> bool:
            types = event_types.get(item_id)
            if types is None:
                return False
            return bool(types - wanted) if negate else not types.isdisjoint(wanted)

        if negate:
            return matches, frozenset(event_types)
        kept = frozenset(
            item for item, types in event_types.items() if not types.isdisjoint(wanted)
        )
        return kept.__contains__, kept

    def compile_items(self, comparison: _Comparison) -> _Part:
        items = self.items
        column = comparison.column
        operator = comparison.operator
        if operator in ("IN", "NOT IN"):
            wanted = self.strings(comparison.values)
            if operator == "IN" and self.index is not None:
                kept = self.index.with_any(column, wanted)
                return kept.__contains__, kept

            def contains(item_id: str) -> bool:
                raw = items.get(item_id, _NO_METADATA).get(column)
                if raw is None:
                    return operator == "NOT IN"
                # Categorical fields hold several values separated by |.
                found = not wanted.isdisjoint(raw.split("|")) if "|" in raw else raw in wanted
                return found != (operator == "NOT IN")

            return contains, None
        bound = self.number(comparison.values[0])
        if bound is None:
            return (lambda _item_id: False), frozenset()
        if self.index is not None:
            compared = self.index.compared(column, operator, bound)
            if compared is not None:
                return compared.__contains__, compared
        compare = _COMPARATORS[operator]

        def compares(item_id: str) -> bool:
            value = _number_of(items.get(item_id, _NO_METADATA).get(column))
            return value is not None and compare(value, bound)

        return compares, None


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
        """The Items columns the filter reads (upper-case), CurrentItem's included."""
        columns: set[str] = set()
        for comparison in self._comparisons():
            if comparison.dataset == "Items":
                columns.add(comparison.column)
                columns.update(v.text for v in comparison.values if v.kind == "CURRENT_ITEM")
        return frozenset(columns)

    @property
    def uses_current_item(self) -> bool:
        """Whether the filter compares items with CurrentItem (related-items requests only)."""
        return any(
            value.kind == "CURRENT_ITEM"
            for comparison in self._comparisons()
            for value in comparison.values
        )

    def _comparisons(self) -> Iterator[_Comparison]:
        pending: list[_Condition] = [expression.condition for expression in self._expressions]
        while pending:
            condition = pending.pop()
            if isinstance(condition, _Junction):
                pending.extend(condition.parts)
            else:
                yield condition

    def bind(
        self,
        values: Mapping[str, str],
        *,
        items: Mapping[str, Mapping[str, str]],
        history: Sequence[Interaction],
        index: ItemIndex | None = None,
        current_item: Mapping[str, str] | None = None,
        user: Mapping[str, str] = _NO_METADATA,
    ) -> ItemFilter:
        """The filter for one request.

        An INCLUDE expression needs every one of its placeholders in `values`; an EXCLUDE
        expression with a missing placeholder is left out, as Personalize does, and so is an
        expression whose IF test fails for `user`. `current_item` is the metadata of the item
        of a related-items request (None for other requests). With an `index`, the filter
        knows its candidates.
        """
        binder = _Binder(values, items, history, index, current_item, user)
        includes: list[_Part] = []
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
            if expression.user_test and not binder.applies(expression.user_test):
                continue
            part = binder.compile(expression.condition)
            if expression.action == "INCLUDE":
                includes.append(part)
            else:
                excludes.append(part[0])
        return _combine(includes, excludes)


def _combine(includes: list[_Part], excludes: list[ItemPredicate]) -> ItemFilter:
    known = [candidates for _, candidates in includes if candidates is not None]
    candidates = (
        frozenset[str]().union(*known) if includes and len(known) == len(includes) else None
    )
    accepts = [predicate for predicate, _ in includes]
    if not excludes and len(accepts) == 1:
        return ItemFilter(accepts[0], candidates)
    if not accepts and not excludes:
        return ItemFilter(lambda _item_id: True)
    if not accepts and len(excludes) == 1:
        exclude = excludes[0]
        return ItemFilter(lambda item_id: not exclude(item_id))

    def accept(item_id: str) -> bool:
        if accepts and not any(include(item_id) for include in accepts):
            return False
        return not any(exclude(item_id) for exclude in excludes)

    return ItemFilter(accept, candidates)
