"""Arguments clients send, the rules they must follow, and their translation for Personalize."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import strawberry

from schema import limits
from schema.errors import BadUserInput
from schema.ports import FilterRequest, PromotionRequest


@strawberry.input(description="A value for one placeholder of a filter, such as `$CATEGORY`.")
class FilterValue:
    key: str = strawberry.field(
        description="The placeholder's name without the `$`, e.g. `CATEGORY` "
        f"(pattern `{limits.FILTER_VALUE_KEY.pattern}`)."
    )
    values: list[str] = strawberry.field(
        description="One or more values. Text values are quoted for you; a single number such "
        'as `"100"` is sent as a number so comparisons like `<=` work.'
    )


@strawberry.input(description="A filter configured on the gateway, chosen by name.")
class FilterInput:
    name: str = strawberry.field(
        description="The filter's name, e.g. `exclude-purchased` or `category`."
    )
    values: list[FilterValue] | None = strawberry.field(
        default=None,
        description=f"Values for the filter's placeholders (at most {limits.MAX_FILTER_VALUES}).",
    )


@strawberry.input(
    description="Contextual metadata about the user's situation, such as their device type."
)
class ContextEntry:
    key: str = strawberry.field(
        description=f"The context field, e.g. `DEVICE` (pattern `{limits.CONTEXT_KEY.pattern}`)."
    )
    value: str = strawberry.field(
        description=f"Its value, e.g. `mobile` (at most {limits.MAX_CONTEXT_VALUE_LENGTH} "
        "characters)."
    )


@strawberry.input(description="Reserve a share of the recommendations for items a filter picks.")
class PromotionInput:
    name: str = strawberry.field(
        description="A name for the promotion, returned as `promotionName` on promoted items "
        f"(pattern `{limits.PROMOTION_NAME.pattern}`)."
    )
    percent_promoted_items: int = strawberry.field(
        default=limits.DEFAULT_PERCENT_PROMOTED_ITEMS,
        description="The percentage of recommended items to promote "
        f"({limits.MIN_PERCENT_PROMOTED_ITEMS} to {limits.MAX_PERCENT_PROMOTED_ITEMS}).",
    )
    filter: FilterInput | None = strawberry.field(
        default=None, description="The filter that picks the promoted items."
    )


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


# JSON's "\\ud800" escape decodes to a code point that no UTF-8 text can hold.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_length(argument: str, value: str, maximum: int = limits.MAX_ID_LENGTH) -> str:
    """`value`, if it is 1 to `maximum` characters long: by default, a user or item id's limits."""
    if not limits.MIN_ID_LENGTH <= len(value) <= maximum:
        raise BadUserInput(
            f"{argument} must be {limits.MIN_ID_LENGTH} to {maximum} characters long, "
            f"got {len(value)}."
        )
    surrogate = _LONE_SURROGATE.search(value)
    if surrogate is not None:
        raise BadUserInput(
            f"{argument} holds a lone surrogate (U+{ord(surrogate.group()):04X}) at position "
            f"{surrogate.start()}: it is not Unicode text, so no catalog or Personalize can "
            "store it."
        )
    return value


def validate_num_results(value: int) -> int:
    if not limits.MIN_NUM_RESULTS <= value <= limits.MAX_NUM_RESULTS:
        raise BadUserInput(
            f"numResults must be between {limits.MIN_NUM_RESULTS} and {limits.MAX_NUM_RESULTS}, "
            f"got {value}."
        )
    return value


def validate_ranking_items(item_ids: Sequence[str]) -> list[str]:
    if not limits.MIN_RANKING_ITEMS <= len(item_ids) <= limits.MAX_RANKING_ITEMS:
        raise BadUserInput(
            f"items must hold {limits.MIN_RANKING_ITEMS} to {limits.MAX_RANKING_ITEMS} ids, "
            f"got {len(item_ids)}."
        )
    return [validate_length(f"items[{index}]", item_id) for index, item_id in enumerate(item_ids)]


def to_filter_request(
    filter: FilterInput | None, filters: Mapping[str, str]
) -> FilterRequest | None:
    """The configured filter `filter` names, with its values formatted for Personalize."""
    if filter is None:
        return None
    arn = filters.get(filter.name)
    if arn is None:
        known = ", ".join(sorted(filters)) or "none are configured"
        raise BadUserInput(f"Unknown filter {shorten(filter.name)}; known filters: {known}.")
    return FilterRequest(arn=arn, values=to_filter_values(filter.values or ()))


def to_filter_values(values: Sequence[FilterValue]) -> dict[str, str]:
    if len(values) > limits.MAX_FILTER_VALUES:
        raise BadUserInput(
            f"A filter takes at most {limits.MAX_FILTER_VALUES} values, got {len(values)}."
        )
    formatted: dict[str, str] = {}
    for value in values:
        check_key("Filter value key", value.key, limits.FILTER_VALUE_KEY, formatted)
        if not value.values:
            raise BadUserInput(f"Filter value {value.key} needs at least one value.")
        text = format_filter_value(value.values)
        if len(text) > limits.MAX_FILTER_VALUE_LENGTH:
            raise BadUserInput(
                f"Filter value {value.key} is {len(text)} characters once quoted and "
                f"comma-joined; the limit is {limits.MAX_FILTER_VALUE_LENGTH}."
            )
        formatted[value.key] = text
    return formatted


def check_key(what: str, key: str, pattern: re.Pattern[str], taken: Mapping[str, str]) -> None:
    """Refuse a map key that breaks Personalize's `pattern` or is already in `taken`."""
    if not pattern.fullmatch(key):
        raise BadUserInput(f"{what} {shorten(key)} must match {pattern.pattern}.")
    if key in taken:
        raise BadUserInput(f"{what} {key} is given more than once.")


def format_filter_value(values: Sequence[str]) -> str:
    """Personalize's spelling: `"a","b"` for text (`\\` and `"` escaped with a backslash), a lone
    number bare."""
    if len(values) == 1 and is_number(values[0]):
        return values[0]
    return ",".join('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)


def is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text) is not None and math.isfinite(float(text))


def to_context(entries: Sequence[ContextEntry] | None) -> dict[str, str]:
    """Contextual metadata as Personalize's `context` map."""
    entries = entries or ()
    if len(entries) > limits.MAX_CONTEXT_ENTRIES:
        raise BadUserInput(
            f"context takes at most {limits.MAX_CONTEXT_ENTRIES} entries, got {len(entries)}."
        )
    context: dict[str, str] = {}
    for entry in entries:
        check_key("Context key", entry.key, limits.CONTEXT_KEY, context)
        if len(entry.value) > limits.MAX_CONTEXT_VALUE_LENGTH:
            raise BadUserInput(
                f"Context value {entry.key} is {len(entry.value)} characters; the limit is "
                f"{limits.MAX_CONTEXT_VALUE_LENGTH}."
            )
        context[entry.key] = entry.value
    return context


def to_promotion_request(
    promotion: PromotionInput | None, filters: Mapping[str, str]
) -> PromotionRequest | None:
    if promotion is None:
        return None
    if not limits.PROMOTION_NAME.fullmatch(promotion.name):
        raise BadUserInput(
            f"Promotion name {shorten(promotion.name)} must match {limits.PROMOTION_NAME.pattern}."
        )
    percent = promotion.percent_promoted_items
    if not limits.MIN_PERCENT_PROMOTED_ITEMS <= percent <= limits.MAX_PERCENT_PROMOTED_ITEMS:
        raise BadUserInput(
            f"percentPromotedItems must be between {limits.MIN_PERCENT_PROMOTED_ITEMS} and "
            f"{limits.MAX_PERCENT_PROMOTED_ITEMS}, got {percent}."
        )
    return PromotionRequest(
        name=promotion.name,
        percent_promoted_items=percent,
        filter=to_filter_request(promotion.filter, filters),
    )


def shorten(text: str, limit: int = 60) -> str:
    """`text` quoted for an error message, cut short so a huge input does not flood it."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
