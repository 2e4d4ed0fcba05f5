"""The /graphql endpoint: Strawberry's view with authentication, persisted queries and JSON
errors for requests refused before any GraphQL runs."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Final

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.http import GraphQLRequestData, GraphQLRequestProtocol
from strawberry.http.base import BaseRequestProtocol
from strawberry.schema.base import BaseSchema
from strawberry.types import ExecutionResult

from gateway.http.auth import AuthenticationFailed, Authenticator
from gateway.http.errors import request_error_response
from gateway.http.graphiql import GraphiQLView
from gateway.http.observing import mark_outcome
from gateway.http.persisted_queries import PersistedQueryError, PersistedQueryStore
from gateway.observations import current_record
from gateway.personalize.breaker import current_request
from gateway.tracing import Tracing
from schema import Context
from schema.identity import ANONYMOUS, Identity

if TYPE_CHECKING:
    from cross_web import AsyncHTTPRequestAdapter

logger = logging.getLogger(__name__)

IDENTITY_SCOPE_KEY: Final = "gateway.identity"
# The first operation of a document: enough to name it in metrics, logs and traces without
# parsing it again (a document of several operations names the one to run).
_FIRST_OPERATION: Final = re.compile(r"^\s*(query|mutation|subscription)\b\s*([_A-Za-z]\w*)?")


class GraphQLView(GraphiQLView[Context, None]):
    """The /graphql endpoint: a fresh Context, and so a fresh item loader, for every request.

    Every request that may run an operation is authenticated by `authenticator` first; the
    IDE page is not, so people can open it and add their token in its headers editor. Queries
    may come as Apollo's persisted queries (by hash), stored in the lifespan's
    `persisted_queries` (a `PersistedQueryStore` in `request.state`). Whether a
    result succeeded is left in the scope for the HTTP cache around the view. With `tracing`,
    each operation runs in its own span.
    """

    def __init__(
        self,
        schema: BaseSchema,
        *,
        authenticator: Authenticator,
        tracing: Tracing | None = None,
        **options: Any,
    ) -> None:
        super().__init__(schema, **options)
        self.authenticator = authenticator
        self.tracing = tracing

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
            store: PersistedQueryStore = request.state.persisted_queries
            request_data = await store.resolve(request_data)
        except PersistedQueryError as error:
            sub_response.status_code = error.status_code
            sub_response.headers["Cache-Control"] = error.cache_control
            return error.as_result()
        record = current_record.get()
        if record is None:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        operation_type, record.operation = _operation_of(request_data)
        user_id = context.identity.user_id or (request_data.variables or {}).get("userId")
        record.user_id = user_id if isinstance(user_id, str) else None
        span = (
            self.tracing.operation_span(operation_type, record.operation)
            if self.tracing is not None
            else contextlib.nullcontext()
        )
        with span:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        if result.data is None:
            mark_outcome(request.scope, "error")
        else:
            mark_outcome(request.scope, "partial" if result.errors else "ok")
        return await super().process_result(request, result)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        # Every Personalize call of this request is charged to it, once, by the breaker.
        breaker_token = current_request.set(object())
        # As Strawberry's own, but a refused request gets a GraphQL-shaped JSON body.
        try:
            scope[IDENTITY_SCOPE_KEY] = self._authenticate(request)
            response = await self.run(request)
        except AuthenticationFailed as failure:
            logger.info("Request refused: %s", failure.message)
            response = request_error_response(
                401, failure.message, headers={"WWW-Authenticate": failure.challenge}
            )
        except HTTPException as error:
            response = request_error_response(error.status_code, error.reason)
        finally:
            current_request.reset(breaker_token)
        await response(scope, receive, send)

    def _authenticate(self, request: Request) -> Identity:
        if request.method not in ("GET", "POST"):
            return ANONYMOUS  # refused by the view anyway: it runs no operation
        if self.graphql_ide and self.should_render_graphql_ide(self.request_adapter_class(request)):
            return ANONYMOUS
        return self.authenticator.authenticate(request.headers)

    def encode_json(self, data: object) -> bytes:
        return encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            decoded = orjson.loads(data)
        except orjson.JSONDecodeError:
            # json reads what orjson refuses (lone surrogates, NaN, Infinity), and its
            # errors are the ones clients are told: the slow path for unusual bodies only.
            decoded = self._decode_json_slowly(data)
        if not isinstance(decoded, dict | list):
            raise HTTPException(
                400,
                'A GraphQL request is a JSON object such as {"query": "...", "variables": {}}, '
                f"not a JSON {type(decoded).__name__}.",
            )
        return decoded

    def _decode_json_slowly(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
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
            derived_personalize_context=state.personalize_context.derive(request.headers),
            identity=request.scope.get(IDENTITY_SCOPE_KEY, ANONYMOUS),
        )


def encode_json(data: object) -> bytes:
    """A response body: orjson's, or json's for what orjson refuses (an integer past 64 bits
    in a catalog's attributes, a lone surrogate)."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return json.dumps(data, separators=(",", ":")).encode()


def _operation_of(request_data: GraphQLRequestData) -> tuple[str, str | None]:
    """The type and name of the operation a request runs (a bare `{...}` is an anonymous query)."""
    match = _FIRST_OPERATION.match(request_data.query or "")
    operation_type = match[1] if match else "query"
    return operation_type, request_data.operation_name or (match[2] if match else None)
