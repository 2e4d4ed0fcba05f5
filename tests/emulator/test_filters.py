from collections.abc import Mapping

import pytest

from emulator.dataset import Interaction
from emulator.filters import FilterExpression, FilterSyntaxError, FilterValueError, ItemIndex

ITEMS: dict[str, dict[str, str]] = {
    "boot": {"CATEGORY": "shoes|outdoor", "PRICE": "120", "BRAND": "Trail"},
    "sandal": {"CATEGORY": "shoes", "PRICE": "40", "BRAND": "Sun"},
    "tent": {"CATEGORY": "outdoor", "PRICE": "300", "BRAND": "Trail"},
    "hat": {"CATEGORY": "accessories", "PRICE": "n/a", "BRAND": "Sun"},
    "sock": {"CATEGORY": "accessories", "PRICE": "8"},
}
HISTORY = [
    Interaction("u1", "boot", 1, "view"),
    Interaction("u1", "boot", 2, "Purchase"),
    Interaction("u1", "tent", 3, "view"),
    Interaction("u1", "hat", 4, "cart"),
]


def kept(text: str, values: Mapping[str, str] | None = None) -> list[str]:
    predicate = FilterExpression.parse(text).bind(values or {}, items=ITEMS, history=HISTORY)
    return [item_id for item_id in ITEMS if predicate(item_id)]


def syntax_error(text: str) -> FilterSyntaxError:
    with pytest.raises(FilterSyntaxError) as caught:
        FilterExpression.parse(text)
    return caught.value


def test_items_in_matches_any_value_of_a_categorical_field() -> None:
    assert kept('INCLUDE ItemID WHERE Items.CATEGORY IN ("outdoor")') == ["boot", "tent"]


def test_items_not_in_keeps_items_without_any_listed_value() -> None:
    expression = 'INCLUDE ItemID WHERE Items.CATEGORY NOT IN ("shoes", "outdoor")'
    assert kept(expression) == ["hat", "sock"]


def test_items_in_missing_column_fails_the_condition() -> None:
    assert kept('INCLUDE ItemID WHERE Items.BRAND IN ("Sun", "Trail")') == [
        "boot",
        "sandal",
        "tent",
        "hat",
    ]


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("=", ["boot"]),
        ("!=", ["sandal", "tent", "sock"]),
        ("<", ["sandal", "sock"]),
        ("<=", ["boot", "sandal", "sock"]),
        (">", ["tent"]),
        (">=", ["boot", "tent"]),
    ],
)
def test_numeric_comparison_skips_non_numeric_values(operator: str, expected: list[str]) -> None:
    assert kept(f"INCLUDE ItemID WHERE Items.PRICE {operator} 120") == expected


def test_numeric_comparison_takes_a_bare_number_placeholder() -> None:
    assert kept("INCLUDE ItemID WHERE Items.PRICE <= $MAX_PRICE", {"MAX_PRICE": "40"}) == [
        "sandal",
        "sock",
    ]


def test_in_placeholder_takes_quoted_comma_separated_values() -> None:
    expression = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)"
    assert kept(expression, {"CATEGORY": '"accessories", "outdoor"'}) == [
        "boot",
        "tent",
        "hat",
        "sock",
    ]


def test_quoted_value_keeps_escaped_quotes_and_commas() -> None:
    items = {"a": {"TITLE": 'say "hi", friend'}, "b": {"TITLE": "hi"}}
    predicate = FilterExpression.parse("INCLUDE ItemID WHERE Items.TITLE IN ($T)").bind(
        {"T": '"say \\"hi\\", friend"'}, items=items, history=()
    )
    assert [item for item in items if predicate(item)] == ["a"]


def test_exclude_interactions_drops_items_of_the_event_type_ignoring_case() -> None:
    expression = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
    assert kept(expression) == ["sandal", "tent", "hat", "sock"]


def test_include_interactions_keeps_only_items_of_the_event_types() -> None:
    expression = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view", "cart")'
    assert kept(expression) == ["boot", "tent", "hat"]


def test_interactions_not_in_matches_items_with_another_event_type() -> None:
    expression = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE NOT IN ("view")'
    assert kept(expression) == ["boot", "hat"]


def test_interactions_star_matches_every_event_type() -> None:
    expression = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'
    assert kept(expression) == ["sandal", "sock"]


def test_and_binds_tighter_than_or() -> None:
    expression = (
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("accessories") OR '
        'Items.CATEGORY IN ("shoes") AND Items.PRICE < 100'
    )
    assert kept(expression) == ["sandal", "hat", "sock"]


def test_parentheses_group_conditions() -> None:
    expression = (
        'INCLUDE ItemID WHERE (Items.CATEGORY IN ("accessories") OR '
        'Items.CATEGORY IN ("shoes")) AND Items.PRICE < 100'
    )
    assert kept(expression) == ["sandal", "sock"]


def test_keywords_are_case_insensitive() -> None:
    assert kept('include itemid where items.category in ("outdoor")') == ["boot", "tent"]


def test_pipe_subtracts_excludes_from_includes() -> None:
    expression = (
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("shoes", "outdoor") | '
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")'
    )
    assert kept(expression) == ["sandal"]


def test_pipe_unites_includes() -> None:
    expression = (
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("outdoor") | '
        'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("cart")'
    )
    assert kept(expression) == ["boot", "tent", "hat"]


def test_exclude_expression_without_its_placeholder_value_is_skipped() -> None:
    expression = (
        "EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) | "
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")'
    )
    assert kept(expression) == ["sandal", "hat", "sock"]


def test_include_expression_without_its_placeholder_value_is_refused() -> None:
    expression = FilterExpression.parse("INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)")
    with pytest.raises(FilterValueError, match=r"\$CATEGORY"):
        expression.bind({}, items=ITEMS, history=HISTORY)


@pytest.mark.parametrize("raw", ["shoes", '"shoes', '"shoes" "boots"', ""])
def test_badly_quoted_filter_value_is_refused(raw: str) -> None:
    expression = FilterExpression.parse("INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY)")
    with pytest.raises(FilterValueError, match="CATEGORY"):
        expression.bind({"CATEGORY": raw}, items=ITEMS, history=HISTORY)


@pytest.mark.parametrize("raw", ['"100"', "1,2", "cheap"])
def test_numeric_placeholder_needs_one_bare_number(raw: str) -> None:
    expression = FilterExpression.parse("INCLUDE ItemID WHERE Items.PRICE < $MAX_PRICE")
    with pytest.raises(FilterValueError, match="MAX_PRICE"):
        expression.bind({"MAX_PRICE": raw}, items=ITEMS, history=HISTORY)


def test_placeholders_are_collected_from_every_expression() -> None:
    expression = FilterExpression.parse(
        "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATEGORY) AND Items.PRICE <= $MAX | "
        "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ($EVENTS)"
    )
    assert expression.placeholders == frozenset({"CATEGORY", "MAX", "EVENTS"})


def test_item_columns_lists_the_items_fields_read() -> None:
    expression = FilterExpression.parse(
        'INCLUDE ItemID WHERE Items.category IN ("a") OR Items.PRICE > 3 | '
        'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")'
    )
    assert expression.item_columns == frozenset({"CATEGORY", "PRICE"})


@pytest.mark.parametrize(
    ("text", "column", "expected"),
    [
        ('KEEP ItemID WHERE Items.A IN ("x")', 1, "INCLUDE or EXCLUDE"),
        ('EXCLUDE UserID WHERE Items.A IN ("x")', 9, "ItemID"),
        ('EXCLUDE ItemID WHEN Items.A IN ("x")', 16, "WHERE"),
        ('EXCLUDE ItemID WHERE Users.A IN ("x")', 22, "Items or Interactions"),
        ('EXCLUDE ItemID WHERE Items A IN ("x")', 28, ". after the dataset name"),
        ('EXCLUDE ItemID WHERE Items.A LIKE ("x")', 30, "IN, NOT IN"),
        ('EXCLUDE ItemID WHERE Items.A IN "x"', 33, "( to open"),
        ('EXCLUDE ItemID WHERE Items.A IN ("x"', 37, ", or )"),
        ("EXCLUDE ItemID WHERE Items.A IN ()", 34, '"string", number or $PLACEHOLDER'),
        ('EXCLUDE ItemID WHERE Items.A IN ("x)', 34, 'closing "'),
        ('EXCLUDE ItemID WHERE Items.A < "x"', 32, "a number or $PLACEHOLDER"),
        ("EXCLUDE ItemID WHERE Items.A NOT IN ($X)", 38, "NOT IN takes no placeholders"),
        ('EXCLUDE ItemID WHERE Interactions.ITEM_ID IN ("x")', 35, "EVENT_TYPE"),
        ("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE = 3", 46, "IN or NOT IN"),
        ('EXCLUDE ItemID WHERE Items.A IN ("x") AND Interactions.EVENT_TYPE IN ("y")', 43, "Items"),
        ('EXCLUDE ItemID WHERE (Items.A IN ("x")', 39, "AND, OR or )"),
        ('EXCLUDE ItemID WHERE Items.A IN ("x") Items.B IN ("y")', 39, "AND, OR, |"),
        ('EXCLUDE ItemID WHERE Items.A IN ("x") |', 40, "INCLUDE or EXCLUDE"),
        ("EXCLUDE ItemID WHERE Items.A # 3", 30, "a keyword, value or operator"),
    ],
)
def test_bad_expression_names_the_expectation_and_column(
    text: str, column: int, expected: str
) -> None:
    error = syntax_error(text)
    assert (error.column, expected in error.expected) == (column, True)


def test_syntax_error_message_points_a_caret_at_the_column() -> None:
    error = syntax_error('EXCLUDE ItemID WHEN Items.A IN ("x")')
    assert str(error).splitlines() == [
        "expected WHERE but found 'WHEN' at column 16:",
        '  EXCLUDE ItemID WHEN Items.A IN ("x")',
        "                 ^",
    ]


def test_more_than_five_distinct_fields_are_refused() -> None:
    error = syntax_error(
        'INCLUDE ItemID WHERE Items.A IN ("x") AND Items.B IN ("x") AND Items.C IN ("x") '
        'AND Items.D IN ("x") AND Items.E IN ("x") AND Items.F IN ("x")'
    )
    assert (error.column, "at most 5" in error.expected) == (133, True)


def bound(text: str, **context: Mapping[str, str]) -> list[str]:
    predicate = FilterExpression.parse(text).bind(
        {}, items=ITEMS, history=HISTORY, index=ItemIndex(ITEMS), **context
    )
    return [item_id for item_id in ITEMS if predicate(item_id)]


def test_current_item_comparison_uses_the_current_items_value() -> None:
    kept = bound("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", current_item=ITEMS["boot"])
    assert kept == ["sandal", "sock"]


def test_in_current_item_matches_any_of_its_categorical_values() -> None:
    kept = bound(
        "INCLUDE ItemID WHERE Items.CATEGORY IN CurrentItem.CATEGORY", current_item=ITEMS["boot"]
    )
    assert kept == ["boot", "sandal", "tent"]


def test_current_item_without_a_current_item_is_refused() -> None:
    with pytest.raises(FilterValueError, match="related items"):
        bound("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE")


def test_if_current_user_applies_the_expression_when_the_test_holds() -> None:
    text = 'EXCLUDE ItemID WHERE Items.BRAND IN ("Trail") IF CurrentUser.AGE < 18'
    assert bound(text, user={"AGE": "12"}) == ["sandal", "hat", "sock"]


def test_if_current_user_leaves_the_expression_out_when_the_test_fails() -> None:
    text = 'EXCLUDE ItemID WHERE Items.BRAND IN ("Trail") IF CurrentUser.AGE < 18'
    assert bound(text, user={"AGE": "40"}) == list(ITEMS)


def test_if_current_user_leaves_the_expression_out_for_a_user_without_the_field() -> None:
    text = 'INCLUDE ItemID WHERE Items.BRAND IN ("Sun") IF CurrentUser.TIER IN ("gold")'
    assert bound(text) == list(ITEMS)


def test_if_must_test_current_user() -> None:
    error = syntax_error('INCLUDE ItemID WHERE Items.BRAND IN ("Sun") IF Items.PRICE > 3')
    assert error.column == 48, str(error)


@pytest.mark.parametrize(
    "text",
    [
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("outdoor", "accessories")',
        "INCLUDE ItemID WHERE Items.PRICE >= 40",
        'INCLUDE ItemID WHERE Items.CATEGORY IN ("shoes") AND Items.PRICE < 100',
        'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("view")',
        'INCLUDE ItemID WHERE Items.BRAND IN ("Sun") | INCLUDE ItemID WHERE Items.PRICE = 300',
    ],
)
def test_candidates_hold_every_kept_item(text: str) -> None:
    item_filter = FilterExpression.parse(text).bind(
        {}, items=ITEMS, history=HISTORY, index=ItemIndex(ITEMS)
    )
    kept = {item_id for item_id in ITEMS if item_filter(item_id)}
    assert kept <= (item_filter.candidates or set()), kept


def test_items_in_with_an_index_matches_without_one() -> None:
    text = 'INCLUDE ItemID WHERE Items.CATEGORY IN ("outdoor")'
    assert bound(text) == kept(text)


def test_item_index_follows_a_replaced_item() -> None:
    items = {key: dict(value) for key, value in ITEMS.items()}
    index = ItemIndex(items)
    index.with_value("CATEGORY", "shoes")
    old, items["sandal"] = items["sandal"], {"CATEGORY": "outdoor"}
    index.put("sandal", old, items["sandal"])
    assert sorted(index.with_value("CATEGORY", "shoes")) == ["boot"]
