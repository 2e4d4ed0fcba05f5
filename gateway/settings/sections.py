"""Groups of settings that belong together, each with the checks across its fields."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode

from gateway.settings.formats import (
    MULTIPROCESS_ENV_VARS,
    EndpointUrl,
    KeyPrefix,
    RedisUrl,
    Scope,
    check_algorithms,
    check_api_key_digests,
    env_var,
)

AuthMode = Literal["none", "api-key", "jwt"]
LogFormat = Literal["text", "json"]
DEFAULT_USER_CLAIM = "sub"
DEFAULT_ANY_USER_SCOPE = "recommendations:any-user"


class AuthSettings(BaseSettings):
    """Who may ask: API keys or JWTs, and what a token must hold."""

    auth_mode: AuthMode = "none"
    auth_api_keys: Annotated[list[str], NoDecode, AfterValidator(check_api_key_digests)] = Field(
        default_factory=list, repr=False
    )
    auth_jwt_secret: SecretStr | None = None
    auth_jwt_public_key_file: Path | None = None
    auth_jwks_file: Path | None = None
    auth_jwt_algorithms: Annotated[list[str], NoDecode, AfterValidator(check_algorithms)] = Field(
        default_factory=list
    )
    auth_jwt_audience: str | None = None
    auth_jwt_issuer: str | None = None
    auth_jwt_leeway: float = Field(default=30.0, ge=0, le=300)
    auth_user_claim: str = Field(default=DEFAULT_USER_CLAIM, min_length=1, max_length=100)
    auth_any_user_scope: Scope = DEFAULT_ANY_USER_SCOPE
    auth_allow_anonymous: bool = False

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        jwt_sources = {
            "auth_jwt_secret": self.auth_jwt_secret,
            "auth_jwt_public_key_file": self.auth_jwt_public_key_file,
            "auth_jwks_file": self.auth_jwks_file,
        }
        mode = env_var("auth_mode")
        if self.auth_mode != "jwt":
            stray = [env_var(name) for name, value in jwt_sources.items() if value]
            if stray:
                raise ValueError(
                    f"{', '.join(stray)} is set but {mode} is {self.auth_mode}: "
                    f"set {mode}=jwt to check tokens"
                )
        if self.auth_mode != "api-key" and self.auth_api_keys:
            raise ValueError(
                f"{env_var('auth_api_keys')} is set but {mode} is {self.auth_mode}: "
                f"set {mode}=api-key to check API keys"
            )
        if self.auth_mode == "api-key" and not self.auth_api_keys:
            raise ValueError(
                f"{mode}=api-key needs {env_var('auth_api_keys')}: the SHA-256 digests "
                "of the keys (personalize-gateway auth hash-key prints one)"
            )
        if self.auth_mode == "jwt":
            missing = [
                env_var(name)
                for name in ("auth_jwt_audience", "auth_jwt_issuer")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"{mode}=jwt needs {' and '.join(missing)}: tokens are accepted only for "
                    "this gateway (aud) from the issuer it trusts (iss)"
                )
        return self


class ObservabilitySettings(BaseSettings):
    """What operators see: log format, Prometheus metrics, OpenTelemetry traces."""

    log_format: LogFormat = "text"
    log_user_ids: bool = False
    metrics: bool = False
    metrics_token: SecretStr | None = None
    metrics_multiprocess_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices(*MULTIPROCESS_ENV_VARS)
    )
    otel_enabled: bool = False
    otel_endpoint: EndpointUrl | None = None
    otel_sampling_ratio: float = Field(default=1.0, ge=0, le=1)
    otel_service_name: str = Field(default="personalize-gateway", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _check_observability(self) -> Self:
        if self.metrics_multiprocess_dir is not None and not self.metrics_multiprocess_dir.is_dir():
            raise ValueError(
                f"{env_var('metrics_multiprocess_dir')}: {self.metrics_multiprocess_dir} "
                "is not a directory; create an empty one for the metrics of every worker"
            )
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
            raise ValueError(f"{env_var('metrics_token')} must be at least 16 characters long")
        return self


class RedisSettings(BaseSettings):
    """A Redis server that replicas share the response cache, stale answers and persisted
    queries through (unset: each process keeps its own)."""

    redis_url: RedisUrl | None = Field(default=None, repr=False)  # may hold a password
    redis_timeout: float = Field(default=0.1, gt=0, le=5)
    redis_backoff: float = Field(default=1.0, gt=0, le=300)
    redis_max_connections: int = Field(default=50, ge=1, le=10_000)
    redis_key_prefix: KeyPrefix = "personalize-gateway"
    persisted_queries_ttl: float = Field(default=86_400.0, gt=0, le=365 * 86_400)
