"""The gateway's configuration: the one place that reads the environment."""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "GATEWAY_"
REGION_ENV_VARS = ("GATEWAY_AWS_REGION", "AWS_REGION", "AWS_DEFAULT_REGION")

ARN_PATTERN = re.compile(
    r"^arn:aws[a-z-]*:personalize:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):(?P<account>\d{12}):"
    r"(?P<kind>campaign|recommender|filter)/(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,62})$"
)
REGION_PATTERN = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-\d+$")
FILTER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
ARN_EXAMPLE = "arn:aws:personalize:us-east-1:123456789012:campaign/my-campaign"

# Variables that share the prefix but are not ours (CGI's GATEWAY_INTERFACE).
NOT_SETTINGS = frozenset({"GATEWAY_INTERFACE"})

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
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

    aws_region: str = Field(default="us-east-1", validation_alias=AliasChoices(*REGION_ENV_VARS))
    personalize_endpoint_url: str | None = None
    events_endpoint_url: str | None = None
    recommendations_arn: str | None = None
    related_items_arn: str | None = None
    ranking_arn: str | None = None
    filters: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    catalog_path: Path = Path("var/catalog.db")
    connect_timeout: float = Field(default=1.0, gt=0)
    read_timeout: float = Field(default=2.0, gt=0)
    max_attempts: int = Field(default=3, ge=1, le=10)
    max_pool_connections: int = Field(default=50, ge=1)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    graphiql: bool = True
    log_level: LogLevel = "info"

    @property
    def arns_configured(self) -> bool:
        """Whether any campaign or recommender ARN is set (if not, `serve` runs the local one)."""
        return any((self.recommendations_arn, self.related_items_arn, self.ranking_arn))

    @property
    def events_endpoint(self) -> str | None:
        """Where personalize-events calls go: its own URL, else the Personalize one, else AWS's."""
        return self.events_endpoint_url or self.personalize_endpoint_url

    @classmethod
    def env_var(cls, field: str) -> str:
        """The environment variable that sets ``field``, as an operator would write it."""
        if field == "aws_region":
            return "GATEWAY_AWS_REGION (or AWS_REGION, AWS_DEFAULT_REGION)"
        return ENV_PREFIX + field.upper()

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_env_vars(cls, data: Any) -> Any:
        # A misspelt variable would otherwise be ignored silently and the default used instead.
        known = {ENV_PREFIX + name.upper() for name in cls.model_fields}
        unknown = sorted(
            name.upper()
            for name in os.environ
            if name.upper().startswith(ENV_PREFIX) and name.upper() not in known | NOT_SETTINGS
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
        "recommendations_arn",
        "related_items_arn",
        "ranking_arn",
        mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("aws_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        if not REGION_PATTERN.match(value):
            raise ValueError(f"{value!r} is not an AWS region name such as us-east-1")
        return value

    @field_validator("personalize_endpoint_url", "events_endpoint_url")
    @classmethod
    def _check_endpoint_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{value!r} is not an http(s) URL such as http://127.0.0.1:4566")
        return value.rstrip("/")

    @field_validator("recommendations_arn", "related_items_arn")
    @classmethod
    def _check_campaign_or_recommender(cls, value: str | None) -> str | None:
        if value is not None:
            _check_arn(value, {"campaign", "recommender"})
        return value

    @field_validator("ranking_arn")
    @classmethod
    def _check_ranking_campaign(cls, value: str | None) -> str | None:
        if value is not None and _check_arn(value, {"campaign", "recommender"}) == "recommender":
            raise ValueError(
                f"{value} is a recommender, but Personalize's GetPersonalizedRanking only accepts "
                "a campaign (of a personalized-ranking solution version): set a campaign ARN"
            )
        return value

    @field_validator("filters", mode="before")
    @classmethod
    def _parse_filters(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"is not valid JSON ({error.msg} at column {error.colno}); expected an object "
                    'of filter name to filter ARN, e.g. {"exclude-purchased": '
                    '"arn:aws:personalize:us-east-1:123456789012:filter/exclude-purchased"}'
                ) from None
        return value

    @field_validator("filters")
    @classmethod
    def _check_filters(cls, value: dict[str, str]) -> dict[str, str]:
        for name, arn in value.items():
            if not FILTER_NAME_PATTERN.match(name):
                raise ValueError(
                    f"filter name {name!r} must be 1-63 letters, digits, '-' or '_', "
                    "starting with a letter or digit"
                )
            try:
                _check_arn(arn, {"filter"})
            except ValueError as error:
                raise ValueError(f"filter {name!r}: {error}") from None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_cors_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as error:
                    raise ValueError(f"is not a valid JSON list ({error.msg})") from None
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_cors_origins(cls, value: list[str]) -> list[str]:
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

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_log_level(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_regions_match(self) -> Settings:
        arns = {
            "recommendations_arn": self.recommendations_arn,
            "related_items_arn": self.related_items_arn,
            "ranking_arn": self.ranking_arn,
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


def _check_arn(arn: str, kinds: set[str]) -> str:
    match = ARN_PATTERN.match(arn)
    if match is None:
        raise ValueError(f"{arn!r} is not a Personalize ARN such as {ARN_EXAMPLE}")
    if match["kind"] not in kinds:
        wanted = " or ".join(sorted(kinds))
        raise ValueError(f"{arn} is a {match['kind']} ARN; expected a {wanted} ARN")
    return match["kind"]


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
