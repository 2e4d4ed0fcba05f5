"""The gateway's configuration: the one place that reads the environment."""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import NoDecode, SettingsConfigDict

from gateway.settings.formats import (
    ARN_PATTERN,
    ENV_PREFIX,
    REGION_ENV_VARS,
    CampaignOrRecommenderArn,
    CatalogUrl,
    EndpointUrl,
    RankingCampaignArn,
    Region,
    TimeZone,
    TrackingId,
    check_catalog_map,
    check_context_fields,
    check_cors_origins,
    check_filters,
    check_segment_event_types,
    env_var,
)
from gateway.settings.sections import (
    AuthSettings,
    ObservabilitySettings,
    RedisSettings,
)
from schema import limits

# prometheus-client reads its own variable when imported; ours is accepted as its synonym.

FILTERS_EXAMPLE = (
    'an object of filter name to filter ARN, e.g. {"exclude-purchased": '
    '"arn:aws:personalize:us-east-1:123456789012:filter/exclude-purchased"}'
)

# Variables that share the prefix but are not ours (CGI's GATEWAY_INTERFACE).
NOT_SETTINGS = frozenset({"GATEWAY_INTERFACE"})

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
Environment = Literal["development", "production"]
EventsDelivery = Literal["sync", "buffered"]
HttpMethod = Literal["GET", "POST"]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_CATALOG_PATH = Path("var/catalog.db")
DEFAULT_SEGMENT_EVENT_TYPES = {
    "Product Viewed": "view",
    "Product Clicked": "click",
    "Product Added": "cart",
    "Order Completed": "purchase",
}


class ConfigurationError(ValueError):
    """The settings cannot be put to use; the message names the variable to fix."""


class Settings(AuthSettings, ObservabilitySettings, RedisSettings):
    """How the gateway reaches Personalize and its catalog, and how it serves HTTP.

    Built once at start-up (from ``GATEWAY_*`` environment variables, or directly in code and
    tests) and passed down; nothing else reads the environment. AWS credentials are not settings:
    botocore's usual chain (environment, profile, role) finds them.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    aws_region: Region = Field(default="us-east-1", validation_alias=AliasChoices(*REGION_ENV_VARS))
    personalize_endpoint_url: EndpointUrl | None = None
    events_endpoint_url: EndpointUrl | None = None
    recommendations_arn: CampaignOrRecommenderArn | None = None
    related_items_arn: CampaignOrRecommenderArn | None = None
    ranking_arn: RankingCampaignArn | None = None
    filters: Annotated[dict[str, str], NoDecode, AfterValidator(check_filters)] = Field(
        default_factory=dict
    )
    item_cache_size: int = Field(default=10_000, ge=1, le=10_000_000)
    item_cache_ttl: float = Field(default=0.0, ge=0, le=86_400)  # 0: no item cache
    response_cache_size: int = Field(default=10_000, ge=1, le=10_000_000)
    response_cache_ttl: float = Field(default=0.0, ge=0, le=86_400)  # 0: no response cache
    workers: int = Field(default=1, ge=1, le=64)
    catalog_path: Path = DEFAULT_CATALOG_PATH
    catalog_url: CatalogUrl | None = None
    catalog_map: Annotated[dict[str, str], NoDecode, AfterValidator(check_catalog_map)] = Field(
        default_factory=dict
    )
    catalog_timeout: float = Field(default=1.0, gt=0, le=60)
    catalog_batch_size: int = Field(default=50, ge=1, le=1000)
    catalog_http_method: HttpMethod = "GET"
    catalog_items_path: str = "items"
    catalog_id_field: str = Field(default="id", min_length=1)
    connect_timeout: float = Field(default=1.0, gt=0)
    read_timeout: float = Field(default=2.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    max_pool_connections: int = Field(default=50, ge=1)
    upstream_deadline: float = Field(default=3.0, gt=0, le=60)
    fallback_arn: CampaignOrRecommenderArn | None = None
    fallback_deadline: float = Field(default=0.5, gt=0, le=60)
    fallback_items_file: Path | None = None
    stale_max_entries: int = Field(default=5000, ge=0)
    stale_max_age: float = Field(default=3600.0, gt=0)
    breaker_failure_threshold: int = Field(default=5, ge=1)
    breaker_cool_down: float = Field(default=10.0, gt=0)
    shutdown_timeout: int = Field(default=10, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: Annotated[list[str], NoDecode, AfterValidator(check_cors_origins)] = Field(
        default_factory=list
    )
    cors_max_age: int = Field(default=600, ge=0, le=86_400)
    http_cache_max_age: int = Field(default=0, ge=0, le=31_536_000)
    persisted_queries_max_bytes: int = Field(default=8 * 1024 * 1024, ge=0, le=1024**3)
    graphiql: bool = True  # production: False unless set
    environment: Environment = "development"
    introspection: bool = True  # production: False unless set
    max_query_depth: int = Field(default=limits.DEFAULT_MAX_DEPTH, ge=1, le=100)
    max_query_aliases: int = Field(default=limits.DEFAULT_MAX_ALIASES, ge=1, le=1000)
    max_upstream_calls_per_request: int = Field(
        default=limits.DEFAULT_MAX_UPSTREAM_CALLS, ge=1, le=1000
    )
    max_query_tokens: int = Field(default=limits.DEFAULT_MAX_TOKENS, ge=100, le=1_000_000)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=100 * 1024 * 1024)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024, le=1024 * 1024)
    max_header_field_bytes: int = Field(default=16 * 1024, ge=256, le=1024 * 1024)
    request_read_timeout: float = Field(default=10.0, gt=0, le=3600)
    log_level: LogLevel = "info"
    storefront: bool = True  # production: False unless set
    event_tracking_id: TrackingId | None = None
    events_delivery: EventsDelivery = "sync"
    events_max_batch: int = Field(default=100, ge=1, le=10_000)
    events_buffer_size: int = Field(default=10_000, ge=1)
    events_flush_interval: float = Field(default=1.0, gt=0, le=60)
    events_delivery_attempts: int = Field(default=5, ge=1, le=20)
    events_retry_backoff: float = Field(default=0.5, gt=0, le=60)
    events_shutdown_timeout: float = Field(default=10.0, gt=0)
    segment_shared_secret: SecretStr | None = None
    segment_event_types: Annotated[
        dict[str, str], NoDecode, AfterValidator(check_segment_event_types)
    ] = Field(default_factory=lambda: dict(DEFAULT_SEGMENT_EVENT_TYPES))
    segment_replay_window: float = Field(default=6 * 3600.0, ge=0, le=7 * 86_400)
    segment_replay_max_entries: int = Field(default=100_000, ge=0, le=10_000_000)
    recommendations_context: Annotated[
        dict[str, str], NoDecode, AfterValidator(check_context_fields)
    ] = Field(default_factory=dict)
    ranking_context: Annotated[dict[str, str], NoDecode, AfterValidator(check_context_fields)] = (
        Field(default_factory=dict)
    )
    context_time_zone: TimeZone = "UTC"

    @property
    def production(self) -> bool:
        """Whether the gateway runs in production mode (GATEWAY_ENVIRONMENT=production)."""
        return self.environment == "production"

    @property
    def catalog(self) -> str:
        """The catalog's URL: GATEWAY_CATALOG_URL, else the GATEWAY_CATALOG_PATH file's."""
        return self.catalog_url or f"sqlite:///{self.catalog_path}"

    @property
    def arns_configured(self) -> bool:
        """Whether any campaign or recommender ARN is set (if not, `serve` runs the local one)."""
        return any((self.recommendations_arn, self.related_items_arn, self.ranking_arn))

    @property
    def events_endpoint(self) -> str | None:
        """Where personalize-events calls go: its own URL, else the Personalize one, else AWS's."""
        return self.events_endpoint_url or self.personalize_endpoint_url

    @classmethod
    def for_deployment(cls) -> Settings:
        """Settings for a deployed server: production unless GATEWAY_ENVIRONMENT says otherwise.

        A deployment that forgets the variable then fails closed (no introspection, no IDE).
        """
        if any(name.upper() == ENV_PREFIX + "ENVIRONMENT" for name in os.environ):
            return cls()
        return cls(environment="production")

    def as_environment(self) -> dict[str, str]:
        """These settings as the `GATEWAY_*` variables that give them back (secrets included),
        for server processes started with the environment alone."""
        environment: dict[str, str] = {}
        for name, value in self:
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if isinstance(value, dict | list):
                text = json.dumps(value)
            elif isinstance(value, bool):
                text = "true" if value else "false"
            else:
                text = str(value)
            environment[ENV_PREFIX + name.upper()] = text
        return environment

    @classmethod
    def env_var(cls, field: str) -> str:
        """The environment variable that sets ``field``, as an operator would write it."""
        return env_var(field)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_env_vars(cls, data: Any) -> Any:
        # A misspelt variable would otherwise be ignored silently and the default used instead.
        known = {ENV_PREFIX + name.upper() for name in cls.model_fields}
        accepted = known | NOT_SETTINGS
        unknown = sorted(
            name.upper()
            for name in os.environ
            if name.upper().startswith(ENV_PREFIX) and name.upper() not in accepted
        )
        if unknown:
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
            raise ValueError(f"unknown setting {', '.join(hints)}")
        return data

    @field_validator(
        "personalize_endpoint_url",
        "events_endpoint_url",
        "catalog_url",
        "recommendations_arn",
        "related_items_arn",
        "ranking_arn",
        "fallback_arn",
        "fallback_items_file",
        "event_tracking_id",
        "segment_shared_secret",
        "auth_jwt_secret",
        "auth_jwt_public_key_file",
        "auth_jwks_file",
        "auth_jwt_audience",
        "auth_jwt_issuer",
        "metrics_token",
        "metrics_multiprocess_dir",
        "otel_endpoint",
        mode="before",
    )
    @classmethod
    def _blank_means_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "filters",
        "catalog_map",
        "segment_event_types",
        "recommendations_context",
        "ranking_context",
        mode="before",
    )
    @classmethod
    def _parse_json_object(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as error:
                expected = FILTERS_EXAMPLE if info.field_name == "filters" else "an object"
                raise ValueError(
                    f"is not valid JSON ({error.msg} at column {error.colno}); expected {expected}"
                ) from None
        return value

    @field_validator("cors_origins", "auth_api_keys", "auth_jwt_algorithms", mode="before")
    @classmethod
    def _parse_list(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as error:
                    raise ValueError(f"is not a valid JSON list ({error.msg})") from None
            # Keys and algorithm names never hold spaces, so spaces separate them too.
            separators = "," if info.field_name == "cors_origins" else r"[,\s]+"
            return [entry.strip() for entry in re.split(separators, text) if entry.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _production_defaults(cls, data: Any) -> Any:
        # Production turns the schema's introspection and GraphiQL off unless they are set.
        if isinstance(data, dict) and str(data.get("environment", "")).lower() == "production":
            return {"introspection": False, "graphiql": False, "storefront": False} | data
        return data

    @field_validator("catalog_http_method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_catalog(self) -> Settings:
        if self.catalog_url is not None and self.catalog_path != DEFAULT_CATALOG_PATH:
            raise ValueError(
                f"{self.env_var('catalog_url')} and {self.env_var('catalog_path')} are both set: "
                f"keep one (a file is sqlite:///{self.catalog_path})"
            )
        return self

    @field_validator("environment", "auth_mode", "events_delivery", "log_format", mode="before")
    @classmethod
    def _lower_choice(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_regions_match(self) -> Settings:
        arns = {
            "recommendations_arn": self.recommendations_arn,
            "related_items_arn": self.related_items_arn,
            "ranking_arn": self.ranking_arn,
            "fallback_arn": self.fallback_arn,
        } | {f"filters[{name}]": arn for name, arn in self.filters.items()}
        for field, arn in arns.items():
            match = ARN_PATTERN.match(arn) if arn else None
            if match and match["region"] != self.aws_region:
                env_var = self.env_var(field.partition("[")[0])
                raise ValueError(
                    f"{env_var}: {arn} is in region {match['region']} but the gateway calls "
                    f"Personalize in {self.aws_region} ({self.env_var('aws_region')})"
                )
        return self


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the environment variable to fix."""
    lines = []
    for problem in error.errors(include_url=False):
        message = problem["msg"].removeprefix("Value error, ")
        location = [str(part) for part in problem["loc"]]
        if location and location[0] in Settings.model_fields:
            lines.append(f"{Settings.env_var(location[0])}: {message}")
        elif location and location[0] in REGION_ENV_VARS:
            lines.append(f"{Settings.env_var('aws_region')}: {message}")
        elif location:
            lines.append(f"{'.'.join(location)}: {message}")
        else:
            lines.append(message)
    return "\n".join(lines)
