"""The composition root: `Settings` turned into the adapters' constructor arguments.

The only module that knows both the settings and the adapters; the adapters take plain
arguments and never see a setting's name, except through the `hints` given here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypedDict

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from gateway.catalog.observed import ObservedCatalog
from gateway.events.buffer import EventBuffer
from gateway.events.sender import DirectEventSink, PutEventsSender
from gateway.metrics import GatewayMetrics, MultiprocessModeError
from gateway.observations import Observer, RecordingObserver
from gateway.personalize.breaker import CircuitBreaker
from gateway.personalize.connections import ConnectionSlots
from gateway.personalize.errors import FILTERS_HINT
from gateway.personalize.fallback import (
    FallbackItemsError,
    FallbackRecommender,
    load_fallback_items,
)
from gateway.personalize.recommender import PersonalizeRecommender
from gateway.personalize.redis_answers import RedisAnswerStore
from gateway.personalize.shared import SharedRecommender
from gateway.personalize.stale import AnswerStore, StaleStore
from gateway.redis_link import RedisLink, open_redis
from gateway.settings import ConfigurationError, Settings
from gateway.tracing import Tracing, TracingUnavailable, build_tracing
from gateway.wiring.catalog import (
    ServedCatalog,
    catalog_name,
    item_cache,
    item_metadata,
    open_catalog,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """Fixed AWS credentials, for a local Personalize (which checks no signature).

    Real AWS credentials are never passed this way: botocore's chain finds them.
    """

    access_key_id: str
    secret_access_key: str


LOCAL_CREDENTIALS = StaticCredentials("local", "local")


class Resources(TypedDict):
    """What the lifespan opens once and every request reads from `request.state`."""

    settings: Settings
    personalize_runtime: Any
    personalize_events: Any
    recommender: SharedRecommender
    catalog: ServedCatalog
    filters: dict[str, str]
    credentials_found: bool
    events: DirectEventSink | EventBuffer
    redis: RedisLink | None  # GATEWAY_REDIS_URL: what replicas share lives there


@dataclass(frozen=True, slots=True)
class Observability:
    """What watches the gateway: metrics and tracing as configured, and the observer the
    adapters report to (None when nothing listens, so they pay nothing)."""

    metrics: GatewayMetrics | None = None
    tracing: Tracing | None = None
    observer: Observer | None = None


def observability(settings: Settings, *, tracing: Tracing | None = None) -> Observability:
    """Metrics, tracing and JSON request lines as the settings ask; `tracing` replaces the
    OTLP tracing the settings would build (tests pass one with an in-memory exporter)."""
    metrics = None
    if settings.metrics:
        try:
            metrics = GatewayMetrics(multiprocess_dir=settings.metrics_multiprocess_dir)
        except MultiprocessModeError as error:
            raise ConfigurationError(
                f"{Settings.env_var('metrics_multiprocess_dir')}: {error}"
            ) from None
    if tracing is None and settings.otel_enabled:
        try:
            tracing = build_tracing(
                service_name=settings.otel_service_name,
                sampling_ratio=settings.otel_sampling_ratio,
                endpoint=settings.otel_endpoint,
            )
        except TracingUnavailable as error:
            raise ConfigurationError(f"{Settings.env_var('otel_enabled')}: {error}") from None
    listeners: list[Observer] = [found for found in (metrics, tracing) if found is not None]
    if not listeners and settings.log_format != "json":
        return Observability()
    return Observability(metrics, tracing, RecordingObserver(listeners))


def setting_hints() -> dict[str, str]:
    """Where an operator configures each operation's resource, for development messages."""
    return {
        "recommendations": Settings.env_var("recommendations_arn"),
        "relatedItems": Settings.env_var("related_items_arn"),
        "ranking": Settings.env_var("ranking_arn"),
        "recordEvents": Settings.env_var("event_tracking_id"),
        FILTERS_HINT: Settings.env_var("filters"),
    }


def fallback_items(settings: Settings) -> tuple[str, ...]:
    """The fallback items file's ids (none if unset); ConfigurationError if it is unusable."""
    if settings.fallback_items_file is None:
        return ()
    try:
        return load_fallback_items(settings.fallback_items_file)
    except FallbackItemsError as error:
        raise ConfigurationError(f"{Settings.env_var('fallback_items_file')}: {error}") from None


def personalize_recommender(
    client: Any,
    settings: Settings,
    observer: Observer | None = None,
    slots: ConnectionSlots | None = None,
) -> PersonalizeRecommender:
    """Personalize through `client`, for the ARNs in `settings`."""
    return PersonalizeRecommender(
        client,
        recommendations_arn=settings.recommendations_arn,
        related_items_arn=settings.related_items_arn,
        ranking_arn=settings.ranking_arn,
        deadline=settings.upstream_deadline,
        production=settings.production,
        hints=setting_hints(),
        observer=observer,
        metadata=item_metadata(settings),
        slots=slots,
    )


def fallback_recommender(
    client: Any, settings: Settings, stale: AnswerStore, observer: Observer | None = None
) -> FallbackRecommender:
    """Personalize through `client` with the stand-ins `settings` configure.

    Both its recommenders wait for one of the client's pooled connections within their deadline.
    """
    slots = ConnectionSlots(settings.max_pool_connections)
    popular = None
    if settings.fallback_arn is not None:
        popular = PersonalizeRecommender(
            client,
            recommendations_arn=settings.fallback_arn,
            related_items_arn=None,
            ranking_arn=None,
            deadline=settings.fallback_deadline,
            production=settings.production,
            observer=observer,
            slots=slots,
        )
    return FallbackRecommender(
        personalize_recommender(client, settings, observer, slots),
        stale=stale,
        breaker=CircuitBreaker(
            failure_threshold=settings.breaker_failure_threshold,
            cool_down=settings.breaker_cool_down,
        ),
        popular=popular,
        popular_items=fallback_items(settings),
        observer=observer,
    )


def shared_recommender(
    recommender: FallbackRecommender,
    settings: Settings,
    observer: Observer | None = None,
    redis: RedisLink | None = None,
) -> SharedRecommender:
    """Identical requests in flight sharing one call, behind the response cache if it is on
    (in Redis when there is a `redis` link, else in this process)."""
    cache: AnswerStore | None = None
    if settings.response_cache_ttl > 0:
        cache = answer_store(
            "response",
            max_entries=settings.response_cache_size,
            max_age=settings.response_cache_ttl,
            settings=settings,
            redis=redis,
        )
    return SharedRecommender(recommender, cache=cache, observer=observer)


def stale_store(settings: Settings, redis: RedisLink | None = None) -> AnswerStore:
    """The store of last good answers: in Redis when there is a `redis` link (and the store
    is on), else in this process, sized by the settings."""
    return answer_store(
        "stale",
        max_entries=settings.stale_max_entries,
        max_age=settings.stale_max_age,
        settings=settings,
        redis=redis,
    )


def answer_store(
    name: str,
    *,
    max_entries: int,
    max_age: float,
    settings: Settings,
    redis: RedisLink | None,
) -> AnswerStore:
    """Answers kept `max_age` seconds: in Redis under the configured prefix, or in this
    process, at most `max_entries` of them (0: none kept)."""
    if redis is not None and max_entries > 0:
        return RedisAnswerStore(redis, name=name, prefix=settings.redis_key_prefix, max_age=max_age)
    return StaleStore(max_entries=max_entries, max_age=max_age)


@contextlib.asynccontextmanager
async def open_shared_store(settings: Settings) -> AsyncIterator[RedisLink | None]:
    """The Redis link of GATEWAY_REDIS_URL for the app's life; None when it is unset."""
    if settings.redis_url is None:
        yield None
        return
    async with open_redis(
        settings.redis_url,
        call_timeout=settings.redis_timeout,
        backoff=settings.redis_backoff,
        max_connections=settings.redis_max_connections,
    ) as link:
        if not await link.ping():
            logger.warning(
                "Redis at %s does not answer (%s): serving without it until it does",
                link.name,
                link.last_error,
            )
        yield link


def event_buffer(sender: PutEventsSender, settings: Settings) -> EventBuffer:
    """The buffer sized and timed by the GATEWAY_EVENTS_* settings."""
    return EventBuffer(
        sender,
        max_batch=settings.events_max_batch,
        capacity=settings.events_buffer_size,
        flush_interval=settings.events_flush_interval,
        attempts=settings.events_delivery_attempts,
        backoff=settings.events_retry_backoff,
        shutdown_timeout=settings.events_shutdown_timeout,
    )


def client_config(settings: Settings) -> AioConfig:
    """Timeouts, retries and pool size of every Personalize client."""
    return AioConfig(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=settings.max_pool_connections,
    )


_PRODUCT = "personalize-gateway"


def _product_version() -> str:
    try:
        return version(_PRODUCT)
    except PackageNotFoundError:  # run from a bundle without the package's metadata
        return "unknown"


def runtime_config(settings: Settings, session: AioSession) -> AioConfig:
    """`client_config` for personalize-runtime, the call of every query, with less CPU per call.

    No client-side parameter validation: the schema checks every input Personalize checks
    (schema/limits.py, schema/inputs.py) and the settings check the ARNs and context names, so
    it would only repeat them. A User-Agent built once (the gateway's name and version, then
    botocore's own), where botocore would build it twice per call.
    """
    user_agent = f"{_PRODUCT}/{_product_version()} {session.user_agent()}"
    return client_config(settings).merge(
        AioConfig(parameter_validation=False, user_agent=user_agent)
    )


@contextlib.asynccontextmanager
async def open_resources(
    settings: Settings,
    credentials: StaticCredentials | None = None,
    observer: Observer | None = None,
) -> AsyncIterator[Resources]:
    """Open the Personalize clients and the catalog for the app's life; close them all after.

    `observer` hears what the adapters report, for metrics, traces and request log lines.
    """
    session = AioSession()
    client_options: dict[str, Any] = {
        "region_name": settings.aws_region,
        "config": client_config(settings),
    }
    if credentials is not None:
        client_options["aws_access_key_id"] = credentials.access_key_id
        client_options["aws_secret_access_key"] = credentials.secret_access_key
        credentials_found = True
    else:
        credentials_found = await session.get_credentials() is not None
        if not credentials_found:
            logger.warning("No AWS credentials found: every Personalize call will fail")
    if not settings.arns_configured:
        logger.warning("No Personalize campaign or recommender ARN is configured")
    async with contextlib.AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(
            session.create_client(
                "personalize-runtime",
                endpoint_url=settings.personalize_endpoint_url,
                **{**client_options, "config": runtime_config(settings, session)},
            )
        )
        events = await stack.enter_async_context(
            session.create_client(
                "personalize-events", endpoint_url=settings.events_endpoint, **client_options
            )
        )
        catalog = await stack.enter_async_context(open_catalog(settings, session, client_options))
        redis = await stack.enter_async_context(open_shared_store(settings))
        if observer is not None:
            catalog = ObservedCatalog(catalog, name=catalog_name(settings), observer=observer)
        recommender = shared_recommender(
            fallback_recommender(runtime, settings, stale_store(settings, redis), observer),
            settings,
            observer,
            redis,
        )
        sender = PutEventsSender(
            events,
            settings.event_tracking_id,
            caches=[recommender],
            production=settings.production,
            hints=setting_hints(),
            deadline=settings.upstream_deadline,
            observer=observer,
        )
        event_sink: DirectEventSink | EventBuffer = DirectEventSink(
            sender, max_batch=settings.events_max_batch
        )
        if settings.events_delivery == "buffered":
            # Entered after the client, so closed before it: the buffer is flushed on shutdown.
            event_sink = await stack.enter_async_context(event_buffer(sender, settings))
        yield Resources(
            settings=settings,
            personalize_runtime=runtime,
            personalize_events=events,
            recommender=recommender,
            catalog=item_cache(catalog, settings),
            filters=dict(settings.filters),
            credentials_found=credentials_found,
            events=event_sink,
            redis=redis,
        )
