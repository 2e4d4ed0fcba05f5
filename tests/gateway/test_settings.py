from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

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
        # Personalize, catalog and HTTP
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
        # events and context
        ("GATEWAY_EVENTS_DELIVERY", "later", "'sync' or 'buffered'"),
        ("GATEWAY_EVENTS_MAX_BATCH", "0", "greater than or equal to 1"),
        ("GATEWAY_EVENTS_FLUSH_INTERVAL", "0", "greater than 0"),
        ("GATEWAY_EVENT_TRACKING_ID", "t" * 257, "at most 256 characters"),
        ("GATEWAY_SEGMENT_EVENT_TYPES", "Product Viewed=view", "is not valid JSON"),
        ("GATEWAY_SEGMENT_EVENT_TYPES", '{"Product Viewed": ""}', "Personalize event type"),
        ("GATEWAY_RECOMMENDATIONS_CONTEXT", '{"DEVICE TYPE": "device"}', "context name"),
        ("GATEWAY_RANKING_CONTEXT", '{"DEVICE": "os"}', "one of device, hour, weekday"),
        ("GATEWAY_CONTEXT_TIME_ZONE", "Mars/Olympus_Mons", "not a time zone"),
        # limits and auth
        ("GATEWAY_ENVIRONMENT", "staging", "'development' or 'production'"),
        ("GATEWAY_MAX_QUERY_DEPTH", "0", "greater than or equal to 1"),
        ("GATEWAY_MAX_QUERY_TOKENS", "10", "greater than or equal to 100"),
        ("GATEWAY_MAX_BODY_BYTES", "100", "greater than or equal to 1024"),
        ("GATEWAY_AUTH_MODE", "basic", "'none', 'api-key' or 'jwt'"),
        ("GATEWAY_AUTH_JWT_ALGORITHMS", "HS256,none", "'none' is never allowed"),
        ("GATEWAY_AUTH_ANY_USER_SCOPE", "any user", "is not an OAuth scope"),
        # SPA caching
        ("GATEWAY_CORS_MAX_AGE", "-1", "greater than or equal to 0"),
        ("GATEWAY_CORS_MAX_AGE", "100000", "less than or equal to 86400"),
        ("GATEWAY_HTTP_CACHE_MAX_AGE", "a minute", "valid integer"),
        ("GATEWAY_PERSISTED_QUERIES_MAX_BYTES", "-5", "greater than or equal to 0"),
        # resilience
        ("GATEWAY_FALLBACK_ARN", FILTER, "is a filter ARN; expected a campaign or recommender"),
        ("GATEWAY_UPSTREAM_DEADLINE", "0", "greater than 0"),
        ("GATEWAY_FALLBACK_DEADLINE", "-1", "greater than 0"),
        ("GATEWAY_STALE_MAX_ENTRIES", "-1", "greater than or equal to 0"),
        ("GATEWAY_STALE_MAX_AGE", "0", "greater than 0"),
        ("GATEWAY_BREAKER_FAILURE_THRESHOLD", "0", "greater than or equal to 1"),
        ("GATEWAY_BREAKER_COOL_DOWN", "0", "greater than 0"),
        ("GATEWAY_SHUTDOWN_TIMEOUT", "-1", "greater than or equal to 0"),
    ],
)
def test_settings_invalid_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    message = settings_error(monkeypatch, name, value)

    assert (message.startswith(f"{name}: "), expected in message) == (True, True), message


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


def test_settings_events_and_context_read_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_EVENT_TRACKING_ID", "tracker-1")
    monkeypatch.setenv("GATEWAY_EVENTS_DELIVERY", "Buffered")
    monkeypatch.setenv("GATEWAY_SEGMENT_SHARED_SECRET", "s3cret")
    monkeypatch.setenv("GATEWAY_SEGMENT_EVENT_TYPES", '{"Product Viewed": "click"}')
    monkeypatch.setenv("GATEWAY_RECOMMENDATIONS_CONTEXT", '{"DEVICE_TYPE": "device"}')
    monkeypatch.setenv("GATEWAY_CONTEXT_TIME_ZONE", "Europe/Paris")

    settings = Settings()

    assert (
        settings.event_tracking_id,
        settings.events_delivery,
        settings.segment_shared_secret and settings.segment_shared_secret.get_secret_value(),
        settings.segment_event_types,
        settings.recommendations_context,
        settings.ranking_context,
        settings.context_time_zone,
    ) == (
        "tracker-1",
        "buffered",
        "s3cret",
        {"Product Viewed": "click"},
        {"DEVICE_TYPE": "device"},
        {},
        "Europe/Paris",
    )


def test_settings_events_are_off_and_segment_mapped_by_default() -> None:
    settings = Settings()

    assert (
        settings.event_tracking_id,
        settings.events_delivery,
        settings.segment_shared_secret,
        settings.segment_event_types["Order Completed"],
        settings.recommendations_context,
    ) == (None, "sync", None, "purchase", {})


def test_settings_secret_is_not_shown() -> None:
    assert "s3cret" not in repr(Settings(segment_shared_secret=SecretStr("s3cret")))


def test_settings_production_turns_introspection_and_graphiql_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")

    settings = Settings()

    assert (settings.production, settings.introspection, settings.graphiql) == (True, False, False)


def test_settings_production_keeps_what_is_set_explicitly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "production")
    monkeypatch.setenv("GATEWAY_INTROSPECTION", "true")

    settings = Settings()

    assert (settings.introspection, settings.graphiql) == (True, False)


def test_settings_for_deployment_default_to_production() -> None:
    assert Settings.for_deployment().environment == "production"


def test_settings_for_deployment_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "development")

    settings = Settings.for_deployment()

    assert (settings.environment, settings.introspection) == ("development", True)


def test_settings_api_keys_are_digests_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = "ab" * 32
    monkeypatch.setenv("GATEWAY_AUTH_MODE", "api-key")

    message = settings_error(monkeypatch, "GATEWAY_AUTH_API_KEYS", f"{digest},my-raw-key")

    assert message == (
        "GATEWAY_AUTH_API_KEYS: entry 2 is not a SHA-256 digest (64 hex digits); store "
        "digests, never keys: make one with `personalize-gateway auth hash-key`"
    )


def test_settings_api_keys_are_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_AUTH_MODE", "api-key")
    monkeypatch.setenv("GATEWAY_AUTH_API_KEYS", f"{'AB' * 32}, {'cd' * 32}")

    assert Settings().auth_api_keys == ["ab" * 32, "cd" * 32]


def test_settings_api_key_mode_needs_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    message = settings_error(monkeypatch, "GATEWAY_AUTH_MODE", "api-key")

    assert message == (
        "GATEWAY_AUTH_MODE=api-key needs GATEWAY_AUTH_API_KEYS: the SHA-256 digests of the "
        "keys (personalize-gateway auth hash-key prints one)"
    )


def test_settings_jwt_mode_needs_audience_and_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_AUTH_JWT_SECRET", "s" * 48)

    message = settings_error(monkeypatch, "GATEWAY_AUTH_MODE", "jwt")

    assert message == (
        "GATEWAY_AUTH_MODE=jwt needs GATEWAY_AUTH_JWT_AUDIENCE and GATEWAY_AUTH_JWT_ISSUER: "
        "tokens are accepted only for this gateway (aud) from the issuer it trusts (iss)"
    )


def test_settings_key_of_another_auth_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = settings_error(monkeypatch, "GATEWAY_AUTH_JWT_SECRET", "s" * 48)

    assert message == (
        "GATEWAY_AUTH_JWT_SECRET is set but GATEWAY_AUTH_MODE is none: "
        "set GATEWAY_AUTH_MODE=jwt to check tokens"
    )


def test_settings_jwt_secret_is_not_shown() -> None:
    settings = Settings(
        auth_mode="jwt",
        auth_jwt_secret=SecretStr("s3cret" * 8),
        auth_jwt_audience="gateway",
        auth_jwt_issuer="https://login.example.com/",
    )

    assert "s3cret" not in repr(settings)


def test_settings_spa_caching_defaults() -> None:
    settings = Settings()

    assert (
        settings.cors_max_age,
        settings.http_cache_max_age,
        settings.persisted_queries_max_bytes,
    ) == (600, 0, 8 * 1024 * 1024)


def test_settings_resilience_defaults() -> None:
    settings = Settings()

    assert (
        settings.upstream_deadline,
        settings.fallback_arn,
        settings.fallback_deadline,
        settings.fallback_items_file,
        settings.stale_max_entries,
        settings.stale_max_age,
        settings.breaker_failure_threshold,
        settings.breaker_cool_down,
        settings.shutdown_timeout,
    ) == (3.0, None, 0.5, None, 5000, 3600.0, 5, 10.0, 10)


def test_settings_resilience_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_UPSTREAM_DEADLINE", "1.5")
    monkeypatch.setenv("GATEWAY_FALLBACK_ARN", RECOMMENDER)
    monkeypatch.setenv("GATEWAY_FALLBACK_ITEMS_FILE", "var/popular.txt")
    monkeypatch.setenv("GATEWAY_BREAKER_COOL_DOWN", "30")

    settings = Settings()

    assert (
        settings.upstream_deadline,
        settings.fallback_arn,
        settings.fallback_items_file,
        settings.breaker_cool_down,
    ) == (1.5, RECOMMENDER, Path("var/popular.txt"), 30.0)


def test_settings_empty_fallback_items_file_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_FALLBACK_ITEMS_FILE", "")

    assert Settings().fallback_items_file is None


def test_settings_fallback_arn_in_another_region_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")

    message = settings_error(monkeypatch, "GATEWAY_FALLBACK_ARN", RECOMMENDER)

    assert message.startswith(
        f"GATEWAY_FALLBACK_ARN: {RECOMMENDER} is in region us-east-1 but the gateway calls "
        "Personalize in eu-west-1"
    )


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    env_vars = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}

    undocumented = sorted(name for name in env_vars if f"`{name}`" not in readme)

    assert undocumented == []


def test_settings_redis_url_of_another_scheme_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = settings_error(monkeypatch, "GATEWAY_REDIS_URL", "http://:s3cret@cache:6379")

    assert message == (
        "GATEWAY_REDIS_URL: not a Redis URL: write redis://HOST:6379/0, rediss://HOST:6380/0 "
        "(TLS) or unix:///run/redis.sock"
    )


def test_settings_redis_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_REDIS_URL", "redis://:s3cret@cache:6379/0")
    monkeypatch.setenv("GATEWAY_REDIS_TIMEOUT", "0.05")

    settings = Settings()

    assert (settings.redis_url, settings.redis_timeout) == ("redis://:s3cret@cache:6379/0", 0.05)
    assert "s3cret" not in repr(settings), repr(settings)
