"""The gateway's ASGI application: Starlette around the GraphQL view, with its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.catalog.cache import CachedCatalog
from gateway.events.replay import ReplayWindow
from gateway.events.segment import segment_routes
from gateway.http.auth import API_KEY_HEADER, build_authenticator
from gateway.http.body_limit import BodyLimitMiddleware
from gateway.http.caching import HttpCache
from gateway.http.graphiql import graphiql_routes
from gateway.http.metrics_endpoint import metrics_routes
from gateway.http.observing import ObservingMiddleware
from gateway.http.persisted_queries import PersistedQueries, PersistedQueryStore
from gateway.http.personalize_context import PersonalizeContextRules
from gateway.http.request_id import REQUEST_ID_HEADER, RequestIdMiddleware
from gateway.http.shared_queries import SharedPersistedQueries
from gateway.http.storefront import storefront_routes, to_storefront
from gateway.http.view import GraphQLView
from gateway.observations import Observer
from gateway.redis_link import RedisLink
from gateway.settings import Settings
from gateway.tracing import Tracing
from gateway.wiring import Resources, StaticCredentials, observability, open_resources
from schema import build_schema
from schema.ports import CatalogUnavailable

logger = logging.getLogger(__name__)

CORS_ALLOWED_HEADERS = ("Content-Type", "Authorization", API_KEY_HEADER, REQUEST_ID_HEADER)


class GatewayState(Resources):
    """The lifespan state every request reads from `request.state`: the resources, and what
    the HTTP side derives from requests."""

    personalize_context: PersonalizeContextRules
    persisted_queries: PersistedQueryStore


def create_app(
    settings: Settings,
    *,
    routes: Sequence[BaseRoute] = (),
    credentials: StaticCredentials | None = None,
    tracing: Tracing | None = None,
) -> Starlette:
    """The gateway for `settings`; `routes` are served alongside (the CLI mounts sample images).

    `credentials` is for a local Personalize only; without it botocore's chain finds them.
    `tracing` replaces the tracing the settings configure (tests capture spans in memory).
    Raises ConfigurationError when a setting cannot be put to use (an unreadable key file).
    """
    watch = observability(settings, tracing=tracing)
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_tokens=settings.max_query_tokens,
        max_upstream_calls=settings.max_upstream_calls_per_request,
        introspection=settings.introspection,
        hide_suggestions=settings.production,
        show_error_details=not settings.production,
    )
    view: GraphQLView = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        authenticator=build_authenticator(settings),
        subscription_protocols=(),  # no subscriptions; a websocket would bypass the middleware
        tracing=watch.tracing,
    )
    middleware = [Middleware(RequestIdMiddleware)]
    if watch.observer is not None:
        middleware.append(
            Middleware(
                ObservingMiddleware,
                metrics=watch.metrics,
                tracing=watch.tracing,
                log_user_ids=settings.log_user_ids,
            )
        )
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_ALLOWED_HEADERS,
                expose_headers=[REQUEST_ID_HEADER, "WWW-Authenticate"],
                max_age=settings.cors_max_age,
            )
        )
    # Inside CORS, so that a 413 still carries the headers a browser needs to read it.
    middleware.append(Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes))
    if settings.production and settings.metrics and settings.metrics_token is None:
        logger.warning(
            "Production mode with GATEWAY_METRICS on and no GATEWAY_METRICS_TOKEN: anyone who "
            "reaches the gateway can read /metrics"
        )
    if settings.production and settings.auth_mode == "none":
        logger.warning(
            "Production mode with GATEWAY_AUTH_MODE=none: any client may ask for any user's "
            "recommendations; set it to api-key or jwt unless a router in front authenticates"
        )

    rules = personalize_context_rules(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[GatewayState]:
        try:
            async with open_resources(settings, credentials, watch.observer) as resources:
                yield GatewayState(
                    **resources,
                    personalize_context=rules,
                    persisted_queries=persisted_query_store(
                        settings, resources["redis"], watch.observer
                    ),
                )
        finally:
            if watch.tracing is not None:
                watch.tracing.shutdown()

    return Starlette(
        routes=[
            Route(
                "/graphql",
                HttpCache(
                    view,
                    max_age=settings.http_cache_max_age,
                    vary=("Authorization", API_KEY_HEADER),
                    observer=watch.observer,
                ),
                name="graphql",
            ),
            Route("/", to_storefront if settings.storefront else home, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *(graphiql_routes() if settings.graphiql else ()),
            *(storefront_routes() if settings.storefront else ()),
            *(
                metrics_routes(watch.metrics, token=_secret(settings.metrics_token))
                if watch.metrics is not None
                else ()
            ),
            *segment_webhook_routes(settings),
            *routes,
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def personalize_context_rules(settings: Settings) -> PersonalizeContextRules:
    """What to derive from requests, per GATEWAY_RECOMMENDATIONS_CONTEXT and _RANKING_CONTEXT."""
    return PersonalizeContextRules(
        fields={
            name: mapping
            for name, mapping in (
                ("recommendations", settings.recommendations_context),
                ("ranking", settings.ranking_context),
            )
            if mapping
        },
        time_zone=ZoneInfo(settings.context_time_zone),
    )


def persisted_query_store(
    settings: Settings, redis: RedisLink | None, observer: Observer | None = None
) -> PersistedQueryStore:
    """The queries of Automatic Persisted Queries: in this process, and in Redis with a link."""
    local = PersistedQueries(settings.persisted_queries_max_bytes)
    if redis is None or settings.persisted_queries_max_bytes == 0:
        return local
    return SharedPersistedQueries(
        local,
        redis,
        prefix=settings.redis_key_prefix,
        ttl=settings.persisted_queries_ttl,
        observer=observer,
    )


def segment_webhook_routes(settings: Settings) -> list[BaseRoute]:
    """The Segment webhook, when a shared secret is configured."""
    secret = settings.segment_shared_secret
    if secret is None:
        return []
    replays = ReplayWindow(
        window=settings.segment_replay_window, max_entries=settings.segment_replay_max_entries
    )
    return list(segment_routes(secret.get_secret_value(), settings.segment_event_types, replays))


async def home(request: Request) -> Response:
    """The first URL a newcomer tries: on to the GraphQL endpoint (GraphiQL in a browser)."""
    return RedirectResponse(request.url_for("graphql").path, status_code=302)


async def healthz(request: Request) -> Response:
    """Alive: the process answers HTTP. Checks no dependency, so a restart never hinges on one."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to serve: the catalog source answers and Personalize is configured.

    Personalize itself is not called: every call is billed, and a regional outage would mark
    every replica unready at once, turning degraded answers into no answers at all. For the same
    reason an open circuit breaker leaves the gateway ready (the fallback still answers): its
    state and the fallback counters are in `details`, for dashboards, not in `checks`.
    """
    settings: Settings = request.state.settings
    checks: dict[str, str] = {}
    try:
        await request.state.catalog.ping()
        checks["catalog"] = "ok"
    except CatalogUnavailable as error:
        logger.error("Readiness: %s", error.message)
        checks["catalog"] = error.message
    if not settings.arns_configured:
        checks["personalize"] = (
            "no campaign or recommender ARN configured (GATEWAY_RECOMMENDATIONS_ARN, "
            "GATEWAY_RELATED_ITEMS_ARN, GATEWAY_RANKING_ARN)"
        )
    elif not request.state.credentials_found:
        checks["personalize"] = "no AWS credentials found by botocore's credential chain"
    else:
        checks["personalize"] = "ok"
    ready = all(check == "ok" for check in checks.values())
    details = {
        **request.state.recommender.describe(),
        "events": request.state.events.snapshot(),
    }
    if isinstance(request.state.catalog, CachedCatalog):
        details["item_cache"] = request.state.catalog.snapshot()
    details["persisted_queries"] = request.state.persisted_queries.describe()
    redis: RedisLink | None = request.state.redis
    if redis is not None:
        # Not a check: without Redis the gateway answers from Personalize, as one process.
        await redis.ping()
        details["redis"] = redis.describe()
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks, "details": details},
        status_code=200 if ready else 503,
    )
