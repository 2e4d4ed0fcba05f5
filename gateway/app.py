"""The gateway's ASGI application: Starlette around the Strawberry view, with its lifespan."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.http import GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.base import BaseSchema
from strawberry.types import ExecutionResult

from gateway.auth import API_KEY_HEADER, AuthMiddleware, build_authenticator, identity_of
from gateway.body_limit import BodyLimitMiddleware
from gateway.catalog import CatalogError, SqliteCatalog
from gateway.event_buffer import EventBuffer
from gateway.events import DirectEventSink, PutEventsSender, find_user_caches
from gateway.fallback import FallbackRecommender
from gateway.graphiql import GraphiQLView, graphiql_routes
from gateway.http_cache import HttpCache
from gateway.persisted_queries import PersistedQueries, PersistedQueryError
from gateway.request_context import RequestContext
from gateway.request_id import REQUEST_ID_HEADER, RequestIdMiddleware
from gateway.responses import request_error_response
from gateway.segment import segment_routes
from gateway.settings import Settings
from schema import Context, build_schema

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter

logger = logging.getLogger(__name__)

CORS_ALLOWED_HEADERS = ("Content-Type", "Authorization", API_KEY_HEADER, REQUEST_ID_HEADER)


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
    recommender: FallbackRecommender
    catalog: SqliteCatalog
    filters: dict[str, str]
    credentials_found: bool
    events: DirectEventSink | EventBuffer
    request_context: RequestContext


class GraphQLView(GraphiQLView[Context, None]):
    """The /graphql endpoint: a fresh Context, and so fresh DataLoaders, for every request.

    Queries may come as Apollo's persisted queries (by hash), stored in `persisted_queries`.
    """

    def __init__(
        self, schema: BaseSchema, *, persisted_queries: PersistedQueries, **options: Any
    ) -> None:
        super().__init__(schema, **options)
        self.persisted_queries = persisted_queries

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # A persisted query by hash over GET has no `query` parameter either, yet wants JSON.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            request_data = self.persisted_queries.resolve(request_data)
        except PersistedQueryError as error:
            sub_response.status_code = error.status_code
            sub_response.headers["Cache-Control"] = error.cache_control
            return error.as_result()
        return await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # As Strawberry's own, but a refused request gets a GraphQL-shaped JSON body.
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as error:
            response = request_error_response(error.status_code, error.reason)
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = json.loads(data)
        except json.JSONDecodeError as error:
            raise HTTPException(
                400,
                f"The request is not valid JSON: {error.msg} at line {error.lineno}, "
                f"column {error.colno}.",
            ) from None
        except UnicodeDecodeError:
            raise HTTPException(400, "The request is not UTF-8 encoded JSON.") from None
        except RecursionError:
            raise HTTPException(400, "The request's JSON is nested too deeply.") from None
        except ValueError:  # json's own limit: an integer of thousands of digits
            raise HTTPException(
                400, "The request's JSON holds a number too long to read."
            ) from None
        if not isinstance(decoded, dict | list):
            raise HTTPException(
                400,
                'A GraphQL request is a JSON object such as {"query": "...", "variables": {}}, '
                f"not a JSON {type(decoded).__name__}.",
            )
        return decoded

    def _validate_batch_request(
        self, request_data: list[GraphQLRequestData], protocol: GraphQLRequestProtocol
    ) -> None:
        raise HTTPException(
            400,
            "Batched requests (a JSON array of operations) are not supported: send one "
            "operation per request; one operation may ask for several root fields.",
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.state
        return Context.create(
            recommender=state.recommender,
            catalog=state.catalog,
            filters=state.filters,
            request=request,
            events=state.events,
            default_context=state.request_context.derive(request.headers),
            identity=identity_of(request.scope),
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
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_query_aliases,
        max_tokens=settings.max_query_tokens,
        introspection=settings.introspection,
        hide_suggestions=settings.production,
        show_error_details=not settings.production,
    )
    view: GraphQLView = GraphQLView(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        allow_queries_via_get=True,
        subscription_protocols=(),  # no subscriptions; a websocket would bypass the middleware
        persisted_queries=PersistedQueries(settings.persisted_queries_max_bytes),
    )
    middleware = [Middleware(RequestIdMiddleware)]
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
    # Inside CORS, so that a 401 or 413 still carries the headers a browser needs to read it.
    middleware += [
        Middleware(AuthMiddleware, authenticator=build_authenticator(settings)),
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
    ]
    if settings.production and settings.auth_mode == "none":
        logger.warning(
            "Production mode with GATEWAY_AUTH_MODE=none: any client may ask for any user's "
            "recommendations; set it to api-key or jwt unless a router in front authenticates"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[GatewayState]:
        async with open_resources(settings, credentials) as state:
            yield state

    return Starlette(
        routes=[
            Route(
                "/graphql",
                HttpCache(
                    view,
                    max_age=settings.http_cache_max_age,
                    vary=("Authorization", API_KEY_HEADER),
                ),
                name="graphql",
            ),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *(graphiql_routes() if settings.graphiql else ()),
            *(segment_routes() if settings.segment_shared_secret else ()),
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
        sender = PutEventsSender(events, settings.event_tracking_id, production=settings.production)
        event_sink: DirectEventSink | EventBuffer = DirectEventSink(
            sender, max_batch=settings.events_max_batch
        )
        if settings.events_delivery == "buffered":
            # Entered after the client, so closed before it: the buffer is flushed on shutdown.
            buffer = EventBuffer.from_settings(sender, settings)
            event_sink = await stack.enter_async_context(buffer)
        state = GatewayState(
            settings=settings,
            personalize_runtime=runtime,
            personalize_events=events,
            recommender=FallbackRecommender.from_settings(runtime, settings),
            catalog=catalog,
            filters=dict(settings.filters),
            credentials_found=credentials_found,
            events=event_sink,
            request_context=RequestContext.from_settings(settings),
        )
        sender.caches = find_user_caches(state)
        yield state


async def healthz(request: Request) -> Response:
    """Alive: the process answers HTTP. Checks no dependency, so a restart never hinges on one."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to serve: the catalog answers and Personalize is configured.

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
        {
            "status": "ready" if ready else "not ready",
            "checks": checks,
            "details": {
                **request.state.recommender.describe(),
                "events": request.state.events.snapshot(),
            },
        },
        status_code=200 if ready else 503,
    )
