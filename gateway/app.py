"""The gateway's ASGI application: Starlette around the Strawberry view, with its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.websockets import WebSocket

from gateway.catalog import CatalogError, SqliteCatalog
from gateway.graphiql import GraphiQLView, graphiql_routes
from gateway.personalize import PersonalizeRecommender
from gateway.request_id import REQUEST_ID_HEADER, RequestIdMiddleware
from gateway.settings import Settings
from schema import Context, schema

logger = logging.getLogger(__name__)

CORS_ALLOWED_HEADERS = ("Content-Type", "Authorization", REQUEST_ID_HEADER)
CORS_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """Fixed AWS credentials, for a local Personalize (which checks no signature).

    Real AWS credentials are never passed this way: botocore's chain finds them.
    """

    access_key_id: str
    secret_access_key: str


LOCAL_CREDENTIALS = StaticCredentials("local", "local")


class GatewayState(TypedDict):
    """What the lifespan opens once and every request reads from `request.state`."""

    settings: Settings
    personalize_runtime: Any
    personalize_events: Any
    recommender: PersonalizeRecommender
    catalog: SqliteCatalog
    filters: dict[str, str]
    credentials_found: bool


class GraphQLView(GraphiQLView[Context, None]):
    """The /graphql endpoint: a fresh Context, and so fresh DataLoaders, for every request."""

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.state
        return Context.create(
            recommender=state.recommender,
            catalog=state.catalog,
            filters=state.filters,
            request=request,
        )


def create_app(
    settings: Settings,
    *,
    routes: Sequence[BaseRoute] = (),
    credentials: StaticCredentials | None = None,
) -> Starlette:
    """The gateway for `settings`; `routes` are served alongside (the CLI mounts sample images).

    `credentials` is for a local Personalize only; without it botocore's chain finds them.
    """
    view: GraphQLView = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
    )
    middleware = [Middleware(RequestIdMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_ALLOWED_HEADERS,
                expose_headers=[REQUEST_ID_HEADER],
                max_age=CORS_MAX_AGE,
            )
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[GatewayState]:
        async with open_resources(settings, credentials) as state:
            yield state

    return Starlette(
        routes=[
            Route("/graphql", view, name="graphql"),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *(graphiql_routes() if settings.graphiql else ()),
            *routes,
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


@contextlib.asynccontextmanager
async def open_resources(
    settings: Settings, credentials: StaticCredentials | None = None
) -> AsyncIterator[GatewayState]:
    """Open the Personalize clients and the catalog for the app's life; close them all after."""
    session = AioSession()
    config = AioConfig(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        max_pool_connections=settings.max_pool_connections,
    )
    client_options: dict[str, Any] = {"region_name": settings.aws_region, "config": config}
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
                **client_options,
            )
        )
        events = await stack.enter_async_context(
            session.create_client(
                "personalize-events", endpoint_url=settings.events_endpoint, **client_options
            )
        )
        catalog = await stack.enter_async_context(SqliteCatalog.open(settings.catalog_path))
        yield GatewayState(
            settings=settings,
            personalize_runtime=runtime,
            personalize_events=events,
            recommender=PersonalizeRecommender.from_settings(runtime, settings),
            catalog=catalog,
            filters=dict(settings.filters),
            credentials_found=credentials_found,
        )


async def healthz(request: Request) -> Response:
    """Alive: the process answers HTTP. Checks no dependency, so a restart never hinges on one."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to serve: the catalog answers and Personalize is configured.

    Personalize itself is not called: every call is billed, and a regional outage would mark
    every replica unready at once, turning degraded answers into no answers at all.
    """
    settings: Settings = request.state.settings
    checks: dict[str, str] = {}
    try:
        await request.state.catalog.ping()
        checks["catalog"] = "ok"
    except CatalogError as error:
        logger.error("Readiness: %s", error)
        checks["catalog"] = str(error)
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
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
