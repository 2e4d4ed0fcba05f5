from __future__ import annotations

import pytest

from schema.errors import BadUserInput
from schema.inputs import FilterInput, FilterValue, format_filter_value, to_filter_request
from tests.schema.fakes import FILTERS


@pytest.mark.parametrize(
    ("values", "formatted"),
    [
        (["shoes"], '"shoes"'),
        (["shoes", "boots"], '"shoes","boots"'),
        (['say "hi"'], r'"say \"hi\""'),
        ([r"C:\shoes"], r'"C:\\shoes"'),
        (["ends in \\"], '"ends in \\\\"'),
        ([r"\"", "b"], r'"\\\"","b"'),
        (["100"], "100"),
        (["-2.5"], "-2.5"),
        (["1e3"], "1e3"),
        (["100", "200"], '"100","200"'),
        (["1e400"], '"1e400"'),
        (["nan"], '"nan"'),
        (["inf"], '"inf"'),
        ([" 100"], '" 100"'),
        (["1_000"], '"1_000"'),
    ],
)
def test_format_filter_value_follows_personalize_quoting(values: list[str], formatted: str) -> None:
    assert format_filter_value(values) == formatted


def test_to_filter_request_resolves_the_arn_and_formats_every_value() -> None:
    filter = FilterInput(
        name="category",
        values=[
            FilterValue(key="CATEGORY", values=["shoes", "boots"]),
            FilterValue(key="MAX_PRICE", values=["100"]),
        ],
    )

    request = to_filter_request(filter, FILTERS)

    assert request is not None
    assert (request.arn, request.values) == (
        FILTERS["category"],
        {"CATEGORY": '"shoes","boots"', "MAX_PRICE": "100"},
    )


def test_to_filter_request_refuses_a_key_given_twice() -> None:
    filter = FilterInput(
        name="category",
        values=[
            FilterValue(key="CATEGORY", values=["a"]),
            FilterValue(key="CATEGORY", values=["b"]),
        ],
    )

    with pytest.raises(BadUserInput, match="CATEGORY is given more than once"):
        to_filter_request(filter, FILTERS)


def test_to_filter_request_refuses_a_key_without_values() -> None:
    filter = FilterInput(name="category", values=[FilterValue(key="CATEGORY", values=[])])

    with pytest.raises(BadUserInput, match="CATEGORY needs at least one value"):
        to_filter_request(filter, FILTERS)


def test_to_filter_request_without_configured_filters_says_so() -> None:
    with pytest.raises(BadUserInput, match="known filters: none are configured"):
        to_filter_request(FilterInput(name="category"), {})


def test_to_filter_request_shortens_a_huge_name_in_its_message() -> None:
    with pytest.raises(BadUserInput) as raised:
        to_filter_request(FilterInput(name="x" * 10_000), FILTERS)

    assert len(raised.value.message) < 200
