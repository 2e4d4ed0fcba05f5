from typing import Any

import pytest

from emulator.validation import ServiceError, operations, validate_input

CAMPAIGN = "arn:aws:personalize:us-east-1:000000000000:campaign/c"


def error_of(operation: str, body: Any) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        validate_input(operation, body)
    return caught.value


def test_operations_come_from_both_service_models() -> None:
    assert {name: (op.method, op.path) for name, op in operations().items()} == {
        "GetActionRecommendations": ("POST", "/action-recommendations"),
        "GetPersonalizedRanking": ("POST", "/personalize-ranking"),
        "GetRecommendations": ("POST", "/recommendations"),
        "PutActionInteractions": ("POST", "/action-interactions"),
        "PutActions": ("POST", "/actions"),
        "PutEvents": ("POST", "/events"),
        "PutItems": ("POST", "/items"),
        "PutUsers": ("POST", "/users"),
    }


def test_valid_request_is_returned() -> None:
    body = {"campaignArn": CAMPAIGN, "userId": "u1", "numResults": 500}
    assert validate_input("GetRecommendations", body) == body


def test_num_results_over_500_is_refused_in_the_service_wording() -> None:
    error = error_of("GetRecommendations", {"campaignArn": CAMPAIGN, "numResults": 501})
    assert (error.status, error.code, error.message) == (
        400,
        "InvalidInputException",
        "1 validation error detected: Value '501' at 'numResults' failed to satisfy "
        "constraint: Member must have value less than or equal to 500",
    )


def test_num_results_over_50_with_metadata_is_refused() -> None:
    body = {"campaignArn": CAMPAIGN, "numResults": 51, "metadataColumns": {"ITEMS": ["TITLE"]}}
    assert "less than or equal to 50" in error_of("GetRecommendations", body).message


def test_negative_num_results_is_refused() -> None:
    error = error_of("GetRecommendations", {"campaignArn": CAMPAIGN, "numResults": -1})
    assert "Member must have value greater than or equal to 0" in error.message


def test_id_over_256_characters_is_refused() -> None:
    error = error_of("GetRecommendations", {"campaignArn": CAMPAIGN, "userId": "u" * 257})
    assert error.message.endswith(
        "at 'userId' failed to satisfy constraint: Member must have length less than or equal "
        "to 256"
    )


def test_arn_pattern_is_enforced() -> None:
    error = error_of("GetRecommendations", {"campaignArn": "campaign/c"})
    assert error.message == (
        "1 validation error detected: Value 'campaign/c' at 'campaignArn' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "arn:([a-z\\d-]+):personalize:.*:.*:.+"
    )


def test_missing_required_members_are_each_reported() -> None:
    error = error_of("GetPersonalizedRanking", {"campaignArn": CAMPAIGN})
    assert error.message == (
        "2 validation errors detected: "
        "Value null at 'inputList' failed to satisfy constraint: Member must not be null; "
        "Value null at 'userId' failed to satisfy constraint: Member must not be null"
    )


def test_input_list_over_500_is_refused() -> None:
    body = {"campaignArn": CAMPAIGN, "userId": "u", "inputList": ["i"] * 501}
    assert "at 'inputList' failed" in error_of("GetPersonalizedRanking", body).message


def test_more_than_25_filter_values_are_refused() -> None:
    values = {f"K{index}": '"v"' for index in range(26)}
    body = {"campaignArn": CAMPAIGN, "filterValues": values}
    assert "Member must have length less than or equal to 25" in (
        error_of("GetRecommendations", body).message
    )


def test_filter_value_key_pattern_is_enforced_without_echoing_sensitive_values() -> None:
    body = {"campaignArn": CAMPAIGN, "filterValues": {"BAD-KEY": '"secret"'}}
    assert error_of("GetRecommendations", body).message == (
        "1 validation error detected: Value at 'filterValues' failed to satisfy constraint: "
        "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
        "[A-Za-z0-9_]+]"
    )


def test_filter_value_over_1000_characters_is_refused() -> None:
    body = {"campaignArn": CAMPAIGN, "filterValues": {"K": "x" * 1001}}
    assert (
        "Map value must satisfy constraint: [Member must have length less than or equal to 1000]"
        in (error_of("GetRecommendations", body).message)
    )


def test_context_over_150_entries_is_refused() -> None:
    body = {"campaignArn": CAMPAIGN, "context": {f"K{index}": "v" for index in range(151)}}
    assert "less than or equal to 150" in error_of("GetRecommendations", body).message


def test_two_promotions_are_refused() -> None:
    promotion = {"name": "p", "percentPromotedItems": 10}
    body = {"campaignArn": CAMPAIGN, "promotions": [promotion, promotion]}
    assert (
        "at 'promotions' failed to satisfy constraint: "
        "Member must have length less than or equal to 1"
        in (error_of("GetRecommendations", body).message)
    )


def test_promotion_percent_over_100_names_the_nested_member() -> None:
    body = {"campaignArn": CAMPAIGN, "promotions": [{"name": "p", "percentPromotedItems": 101}]}
    assert error_of("GetRecommendations", body).message == (
        "1 validation error detected: Value '101' at 'promotions.1.member.percentPromotedItems' "
        "failed to satisfy constraint: Member must have value less than or equal to 100"
    )


def test_promotion_without_name_and_percent_reports_both() -> None:
    body = {"campaignArn": CAMPAIGN, "promotions": [{"filterArn": CAMPAIGN}]}
    assert error_of("GetRecommendations", body).message == (
        "2 validation errors detected: "
        "Value null at 'promotions.1.member.name' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'promotions.1.member.percentPromotedItems' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_metadata_columns_accept_only_items() -> None:
    body = {"campaignArn": CAMPAIGN, "metadataColumns": {"USERS": ["AGE"]}}
    assert "Member must be ITEMS" in error_of("GetRecommendations", body).message


def test_wrong_json_type_is_a_serialization_error() -> None:
    error = error_of("GetRecommendations", {"campaignArn": CAMPAIGN, "numResults": "10"})
    assert (error.status, error.code) == (400, "SerializationException")


def test_events_need_sent_at_and_event_type() -> None:
    body = {"trackingId": "t", "sessionId": "s", "eventList": [{"itemId": "i"}]}
    assert error_of("PutEvents", body).message == (
        "2 validation errors detected: "
        "Value null at 'eventList.1.member.eventType' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'eventList.1.member.sentAt' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_more_than_10_events_are_refused() -> None:
    event = {"eventType": "view", "sentAt": 1}
    body = {"trackingId": "t", "sessionId": "s", "eventList": [event] * 11}
    assert (
        "at 'eventList' failed to satisfy constraint: "
        "Member must have length less than or equal to 10" in (error_of("PutEvents", body).message)
    )


def test_empty_event_list_is_refused() -> None:
    body = {"trackingId": "t", "sessionId": "s", "eventList": []}
    assert (
        "Member must have length greater than or equal to 1" in error_of("PutEvents", body).message
    )


@pytest.mark.parametrize(
    ("member", "value", "constraint"),
    [
        ("itemId", "", "length greater than or equal to 1"),
        ("itemId", "i" * 257, "length less than or equal to 256"),
        ("impression", ["i"] * 26, "length less than or equal to 25"),
        ("recommendationId", "r" * 41, "length less than or equal to 40"),
        ("properties", "{" + " " * 1024 + "}", "length less than or equal to 1024"),
        ("properties", "[1, 2]", "JSON object"),
    ],
)
def test_event_member_limits(member: str, value: Any, constraint: str) -> None:
    event = {"eventType": "view", "sentAt": 1.5, member: value}
    body = {"trackingId": "t", "sessionId": "s", "eventList": [event]}
    message = error_of("PutEvents", body).message
    assert (f"at 'eventList.1.member.{member}'" in message, constraint in message) == (True, True)


def test_event_properties_with_reserved_keys_are_refused() -> None:
    event = {"eventType": "view", "sentAt": 1, "properties": '{"userId": "u"}'}
    body = {"trackingId": "t", "sessionId": "s", "eventList": [event]}
    assert "reserved keys" in error_of("PutEvents", body).message


def test_body_that_is_not_an_object_is_a_serialization_error() -> None:
    assert error_of("PutEvents", ["not", "an", "object"]).code == "SerializationException"
