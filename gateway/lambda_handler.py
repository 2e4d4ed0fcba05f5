"""The gateway on AWS Lambda: `gateway.lambda_handler.handler`.

Mangum turns each event (API Gateway REST or HTTP API, a Function URL, an Application Load
Balancer) into an ASGI request for the app `create_app` builds, as in every other deployment.
The app's lifespan (the Personalize clients, the catalog, the caches) is entered once per
execution environment, on an event loop kept for its life, and every invocation reuses it:
Mangum's own lifespan handling, which would open and close everything on each invocation, is
off.
"""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
from typing import Any, Final

from mangum import Mangum
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from gateway.http.app import create_app
from gateway.logs import build_log_config
from gateway.settings import ConfigurationError, Settings, describe_validation_error

logger = logging.getLogger(__name__)

# A synchronous invocation's response may be at most 6 MB, as Lambda serialises it (the body
# base64-encoded when binary): https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_RESPONSE_BYTES: Final = 6 * 1024 * 1024
RESPONSE_TOO_LARGE: Final = "RESPONSE_TOO_LARGE"

# Headers that describe the body, and so do not survive its replacement.
_BODY_HEADERS: Final = frozenset(
    {"content-type", "content-length", "content-encoding", "etag", "cache-control"}
)


def settings_for_lambda() -> Settings:
    """Settings from `GATEWAY_*` variables, in production mode unless they say otherwise.

    Raises ConfigurationError naming each variable to fix, and for what cannot work on Lambda.
    """
    try:
        settings = Settings.for_deployment()
    except ValidationError as error:
        raise ConfigurationError(
            f"invalid configuration\n{describe_validation_error(error)}"
        ) from None
    if settings.events_delivery == "buffered":
        raise ConfigurationError(
            f"{Settings.env_var('events_delivery')}=buffered does not work on AWS Lambda: the "
            "process is frozen between invocations, so queued events would be sent late or "
            "lost; use sync"
        )
    return settings


class LambdaGateway:
    """One execution environment's gateway: `app` inside its lifespan, Mangum in front.

    Call it with a Lambda event and context; `close()` leaves the lifespan (Lambda itself
    simply freezes and discards the process).
    """

    def __init__(self, app: Starlette, *, max_response_bytes: int = MAX_RESPONSE_BYTES) -> None:
        self._loop = asyncio.new_event_loop()
        # Mangum runs each request on the current event loop: make it this one.
        asyncio.set_event_loop(self._loop)
        self._lifespan = app.router.lifespan_context(app)
        try:
            state = self._loop.run_until_complete(self._lifespan.__aenter__())
        except BaseException:
            self._close_loop()
            raise
        self._adapter = Mangum(_Mounted(app, dict(state or {})), lifespan="off")
        self._max_response_bytes = max_response_bytes

    @classmethod
    def from_env(cls) -> LambdaGateway:
        """The gateway configured from `GATEWAY_*` variables, its logging set up."""
        settings = settings_for_lambda()
        logging.config.dictConfig(build_log_config(settings.log_level))
        return cls(create_app(settings))

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        response = self._adapter(event, context)
        size = len(json.dumps(response))
        if size > self._max_response_bytes:
            logger.warning(
                "A %d-byte response was replaced by an error: Lambda answers at most %d bytes",
                size,
                self._max_response_bytes,
            )
            return response_too_large(response, size, self._max_response_bytes)
        return response

    def close(self) -> None:
        """Leave the lifespan (closing the clients and the catalog) and the event loop."""
        try:
            self._loop.run_until_complete(self._lifespan.__aexit__(None, None, None))
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        self._loop.close()
        asyncio.set_event_loop(None)


class _Mounted:
    """The app as Lambda's front doors reach it: each request with the lifespan state, and
    under the stage or base path API Gateway put in front of it (`root_path`), so that the
    URLs the app builds (GraphiQL's assets) include it."""

    def __init__(self, app: Starlette, state: dict[str, Any]) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root_path, path = mounted_path(scope.get("aws.event") or {}, scope["path"])
        scope = {**scope, "state": dict(self._state), "root_path": root_path, "path": path}
        await self._app(scope, receive, send)


def mounted_path(event: dict[str, Any], path: str) -> tuple[str, str]:
    """The prefix in front of the app and the full path, for `path` as Mangum read it.

    REST APIs take the stage (or a custom domain's base path) out of `path` and keep the whole
    path in `requestContext.path`; HTTP APIs leave a named stage in the path (the `$default`
    stage, Function URLs and load balancers have none).
    """
    context = event.get("requestContext") or {}
    full_path = context.get("path")
    if isinstance(full_path, str) and full_path != path and full_path.endswith(path):
        prefix = full_path[: len(full_path) - len(path)].rstrip("/")
        return prefix, prefix + path
    stage = context.get("stage")
    if isinstance(stage, str) and stage not in ("", "$default"):
        prefix = f"/{stage}"
        if path == prefix or path.startswith(f"{prefix}/"):
            return prefix, path
    return "", path


def response_too_large(response: dict[str, Any], size: int, limit: int) -> dict[str, Any]:
    """`response` with its body replaced by a GraphQL error saying it was too large.

    The headers that do not describe the body (request id, CORS) are kept, so a browser can
    read the error.
    """
    body = json.dumps(
        {
            "errors": [
                {
                    "message": (
                        f"The response ({size:,} bytes) is over AWS Lambda's limit of "
                        f"{limit:,} bytes: ask for fewer items, fields or aliases"
                    ),
                    "extensions": {"code": RESPONSE_TOO_LARGE},
                }
            ]
        }
    )
    replaced: dict[str, Any] = {
        key: value for key, value in response.items() if key not in ("headers", "multiValueHeaders")
    }
    replaced.update(statusCode=500, body=body, isBase64Encoded=False)
    if "statusDescription" in response:
        replaced["statusDescription"] = "500 Internal Server Error"
    content = {"content-type": "application/json", "content-length": str(len(body))}
    for key in ("headers", "multiValueHeaders"):
        if isinstance(response.get(key), dict):
            replaced[key] = {
                name: value
                for name, value in response[key].items()
                if name.lower() not in _BODY_HEADERS
            }
    if "headers" in replaced or "multiValueHeaders" not in replaced:
        replaced["headers"] = replaced.get("headers", {}) | content
    else:
        replaced["multiValueHeaders"] |= {name: [value] for name, value in content.items()}
    return replaced


_gateway: LambdaGateway | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point. An execution environment's first invocation starts the gateway;
    the rest reuse it."""
    global _gateway
    if _gateway is None:
        _gateway = LambdaGateway.from_env()
    return _gateway(event, context)


def close() -> None:
    """Close the gateway `handler` started, if any (for tests and tools; Lambda never calls it)."""
    global _gateway
    started, _gateway = _gateway, None
    if started is not None:
        started.close()
