"""The formats of setting values, checked once at start; each message says what is expected."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from schema import limits

ENV_PREFIX = "GATEWAY_"
REGION_ENV_VARS = ("GATEWAY_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")
MULTIPROCESS_ENV_VARS = ("GATEWAY_METRICS_MULTIPROCESS_DIR", "PROMETHEUS_MULTIPROC_DIR")


def env_var(field: str) -> str:
    """The environment variable that sets the setting ``field``, as an operator would write it."""
    if field == "aws_region":
        return "GATEWAY_AWS_REGION (or AWS_REGION, AWS_DEFAULT_REGION)"
    if field == "metrics_multiprocess_dir":
        return "GATEWAY_METRICS_MULTIPROCESS_DIR (or PROMETHEUS_MULTIPROC_DIR)"
    return ENV_PREFIX + field.upper()


ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:personalize:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):"
    r"(?P<kind>campaign|recommender|filter)/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,62})$"
)
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
FILTER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
ARN_EXAMPLE = "arn:aws:personalize:us-east-1:123456789012:campaign/my-campaign"
SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
SCOPE_PATTERN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]{1,200}$")  # RFC 6749 scope-token
CONTEXT_SOURCES = ("device", "hour", "weekday")  # what the gateway derives from a request


def check_region(value: str) -> str:
    if not REGION_PATTERN.match(value):
        raise ValueError(f"{value!r} is not an AWS region name such as us-east-1")
    return value


def check_endpoint_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL such as http://127.0.0.1:4566")
    return value.rstrip("/")


CATALOG_SCHEMES = ("sqlite", "personalize", "dynamodb", "postgresql", "postgres", "http", "https")
CATALOG_FIELDS = ("title", "description", "image_url", "price", "category")


def check_catalog_url(value: str | None) -> str | None:
    if value is None:
        return None
    scheme = urlsplit(value.strip()).scheme.lower()
    if scheme not in CATALOG_SCHEMES:
        raise ValueError(
            f"{value!r} is not a catalog URL: write sqlite:///var/catalog.db, personalize:, "
            "dynamodb://TABLE?region=REGION, postgresql://USER@HOST/DATABASE?table=items or "
            "https://products.example.com/items"
        )
    return value.strip()


REDIS_SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def check_redis_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
        raise ValueError(
            "not a Redis URL: write redis://HOST:6379/0, rediss://HOST:6380/0 (TLS) or "
            "unix:///run/redis.sock"
        )
    return value.strip()


def check_key_prefix(value: str) -> str:
    if not KEY_PREFIX_PATTERN.match(value):
        raise ValueError(
            f"{value!r} is not a key prefix: 1 to 100 letters, digits, '_', '.', ':' or '-'"
        )
    return value


def check_catalog_map(value: dict[str, str]) -> dict[str, str]:
    for column, field in value.items():
        if not isinstance(field, str) or field not in CATALOG_FIELDS:
            raise ValueError(
                f"{column!r} maps to {field!r}, which is not a catalog field "
                f"(one of {', '.join(CATALOG_FIELDS)})"
            )
    return value


def check_campaign_or_recommender(value: str | None) -> str | None:
    if value is not None:
        check_arn(value, {"campaign", "recommender"})
    return value


def check_ranking_campaign(value: str | None) -> str | None:
    if value is not None and check_arn(value, {"campaign", "recommender"}) == "recommender":
        raise ValueError(
            f"{value} is a recommender, but Personalize's GetPersonalizedRanking only accepts "
            "a campaign (of a personalized-ranking solution version): set a campaign ARN"
        )
    return value


def check_filters(value: dict[str, str]) -> dict[str, str]:
    for name, arn in value.items():
        if not FILTER_NAME_PATTERN.match(name):
            raise ValueError(
                f"filter name {name!r} must be 1-63 letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        try:
            check_arn(arn, {"filter"})
        except ValueError as error:
            raise ValueError(f"filter {name!r}: {error}") from None
    return value


def check_cors_origins(value: list[str]) -> list[str]:
    for origin in value:
        if origin == "*":
            continue
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ValueError(
                f"{origin!r} is not an origin: write scheme://host[:port] with no path or "
                "trailing slash (e.g. https://shop.example.com), or *"
            )
    return value


def check_tracking_id(value: str | None) -> str | None:
    if value is not None and len(value) > limits.MAX_ID_LENGTH:
        raise ValueError(
            f"a tracking id has at most {limits.MAX_ID_LENGTH} characters, got {len(value)}"
        )
    return value


def check_segment_event_types(value: dict[str, str]) -> dict[str, str]:
    for name, event_type in value.items():
        if not name or not 1 <= len(event_type) <= limits.MAX_EVENT_TYPE_LENGTH:
            raise ValueError(
                f"{name!r}: {event_type!r} must map a Segment event name to a Personalize "
                f"event type of 1 to {limits.MAX_EVENT_TYPE_LENGTH} characters, e.g. "
                '{"Order Completed": "purchase"}'
            )
    return value


def check_context_fields(value: dict[str, str]) -> dict[str, str]:
    for key, source in value.items():
        if not limits.CONTEXT_KEY.fullmatch(key):
            raise ValueError(
                f"context name {key!r} must be 1-150 letters, digits or '_' (Personalize's "
                'rule), e.g. {"DEVICE_TYPE": "device", "HOUR_OF_DAY": "hour"}'
            )
        if source not in CONTEXT_SOURCES:
            raise ValueError(
                f"context {key!r}: {source!r} is not something the gateway derives; use "
                f"one of {', '.join(CONTEXT_SOURCES)}"
            )
    return value


def check_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a time zone of the IANA database, such as Europe/Paris or UTC"
        ) from None
    return value


def check_api_key_digests(value: list[str]) -> list[str]:
    for index, digest in enumerate(value, start=1):
        # The entry is not quoted back: it may be a key pasted by mistake.
        if not SHA256_HEX.match(digest):
            raise ValueError(
                f"entry {index} is not a SHA-256 digest (64 hex digits); store digests, "
                "never keys: make one with `personalize-gateway auth hash-key`"
            )
    return [digest.lower() for digest in value]


def check_algorithms(value: list[str]) -> list[str]:
    # Which names fit the key is checked when the keys are read (gateway.http.jwt_keys).
    for name in value:
        if name.lower() == "none":
            raise ValueError("'none' is never allowed: a token must be signed")
    return value


def check_scope(value: str) -> str:
    if not SCOPE_PATTERN.match(value):
        raise ValueError(f"{value!r} is not an OAuth scope: printable, no spaces or quotes")
    return value


def check_arn(arn: str, kinds: set[str]) -> str:
    match = ARN_PATTERN.match(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not a Personalize ARN such as {ARN_EXAMPLE}")
    if match["kind"] not in kinds:
        wanted = " or ".join(sorted(kinds))
        raise ValueError(f"{arn} is a {match['kind']} ARN; expected a {wanted} ARN")
    return match["kind"]


Region = Annotated[str, AfterValidator(check_region)]
EndpointUrl = Annotated[str, AfterValidator(check_endpoint_url)]
CampaignOrRecommenderArn = Annotated[str, AfterValidator(check_campaign_or_recommender)]
RankingCampaignArn = Annotated[str, AfterValidator(check_ranking_campaign)]
TrackingId = Annotated[str, AfterValidator(check_tracking_id)]
TimeZone = Annotated[str, AfterValidator(check_time_zone)]
Scope = Annotated[str, AfterValidator(check_scope)]
CatalogUrl = Annotated[str, AfterValidator(check_catalog_url)]
RedisUrl = Annotated[str, AfterValidator(check_redis_url)]
KeyPrefix = Annotated[str, AfterValidator(check_key_prefix)]
