from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings, describe_validation_error

CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/user-personalization"
RECOMMENDER = "arn:aws:personalize:us-east-1:123456789012:recommender/most-popular"
FILTER = "arn:aws:personalize:us-east-1:123456789012:filter/exclude-purchased"


def settings_error(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return describe_validation_error(caught.value)


def test_settings_defaults_without_environment() -> None:
    settings = Settings()

    assert (
        settings.aws_region,
        settings.catalog_path,
        settings.connect_timeout,
        settings.read_timeout,
        settings.max_attempts,
        settings.max_pool_connections,
        settings.host,
        settings.port,
        settings.cors_origins,
        settings.graphiql,
        settings.log_level,
        settings.filters,
        settings.arns_configured,
    ) == (
        "us-east-1",
        Path("var/catalog.db"),
        1.0,
        2.0,
        3,
        50,
        "127.0.0.1",
        8000,
        [],
        True,
        "info",
        {},
        False,
    )


def test_settings_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_RECOMMENDATIONS_ARN", CAMPAIGN)
    monkeypatch.setenv("GATEWAY_RELATED_ITEMS_ARN", RECOMMENDER)
    monkeypatch.setenv("GATEWAY_FILTERS", f'{{"exclude-purchased": "{FILTER}"}}')
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "0.5")
    monkeypatch.setenv("GATEWAY_GRAPHIQL", "false")
    monkeypatch.setenv("GATEWAY_LOG_LEVEL", "DEBUG")

    settings = Settings()

    assert (
        settings.recommendations_arn,
        settings.related_items_arn,
        settings.filters,
        settings.read_timeout,
        settings.graphiql,
        settings.log_level,
        settings.arns_configured,
    ) == (CAMPAIGN, RECOMMENDER, {"exclude-purchased": FILTER}, 0.5, False, "debug", True)


def test_settings_region_falls_back_to_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")

    assert Settings().aws_region == "eu-west-1"


def test_settings_gateway_region_wins_over_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("GATEWAY_AWS_REGION", "ap-southeast-2")

    assert Settings().aws_region == "ap-southeast-2"


def test_settings_cors_origins_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", "https://shop.example.com, http://localhost:3000")

    assert Settings().cors_origins == ["https://shop.example.com", "http://localhost:3000"]


def test_settings_events_endpoint_defaults_to_personalize_endpoint() -> None:
    settings = Settings(personalize_endpoint_url="http://127.0.0.1:4566/")

    assert settings.events_endpoint == "http://127.0.0.1:4566"


def test_settings_empty_arn_means_not_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_RANKING_ARN", "")

    assert Settings().ranking_arn is None


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GATEWAY_RECOMMENDATIONS_ARN", "user-personalization", "is not a Personalize ARN"),
        ("GATEWAY_RELATED_ITEMS_ARN", FILTER, "is a filter ARN; expected a campaign or"),
        ("GATEWAY_RANKING_ARN", RECOMMENDER, "GetPersonalizedRanking only accepts a campaign"),
        ("GATEWAY_FILTERS", f'{{"exclude-purchased": "{CAMPAIGN}"}}', "expected a filter ARN"),
        ("GATEWAY_FILTERS", "exclude-purchased=" + FILTER, "is not valid JSON"),
        ("GATEWAY_FILTERS", f'{{"no spaces": "{FILTER}"}}', "filter name 'no spaces'"),
        ("GATEWAY_CONNECT_TIMEOUT", "0", "greater than 0"),
        ("GATEWAY_READ_TIMEOUT", "soon", "valid number"),
        ("GATEWAY_MAX_ATTEMPTS", "0", "greater than or equal to 1"),
        ("GATEWAY_MAX_POOL_CONNECTIONS", "0", "greater than or equal to 1"),
        ("GATEWAY_PORT", "70000", "less than or equal to 65535"),
        ("GATEWAY_CORS_ORIGINS", "https://shop.example.com/", "no path or trailing slash"),
        ("GATEWAY_PERSONALIZE_ENDPOINT_URL", "localhost:4566", "is not an http(s) URL"),
        ("GATEWAY_LOG_LEVEL", "loud", "'critical', 'error', 'warning', 'info' or 'debug'"),
    ],
)
def test_settings_invalid_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    message = settings_error(monkeypatch, name, value)

    assert message.startswith(f"{name}: ")
    assert expected in message


def test_settings_invalid_region_names_the_region_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = settings_error(monkeypatch, "AWS_REGION", "the-moon")

    assert message == (
        "GATEWAY_AWS_REGION (or AWS_REGION, AWS_DEFAULT_REGION): "
        "'the-moon' is not an AWS region name such as us-east-1"
    )


def test_settings_arn_in_another_region_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    message = settings_error(monkeypatch, "GATEWAY_RECOMMENDATIONS_ARN", CAMPAIGN)

    assert message.startswith(
        f"GATEWAY_RECOMMENDATIONS_ARN: {CAMPAIGN} is in region us-east-1 but the gateway calls "
        "Personalize in eu-west-1"
    )


def test_settings_misspelt_variable_refused_with_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = settings_error(monkeypatch, "GATEWAY_RECOMENDATIONS_ARN", CAMPAIGN)

    assert message == (
        "unknown setting GATEWAY_RECOMENDATIONS_ARN (did you mean GATEWAY_RECOMMENDATIONS_ARN?)"
    )
