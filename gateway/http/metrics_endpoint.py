"""`GET /metrics`: the gateway's metrics in Prometheus' text format, behind a bearer token if
one is configured."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.metrics import CONTENT_TYPE, GatewayMetrics


def metrics_routes(metrics: GatewayMetrics, *, token: str | None) -> list[BaseRoute]:
    """The /metrics route; with `token`, a scrape must send `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode() if token is not None else None

    async def scrape(request: Request) -> Response:
        if expected is not None:
            sent = request.headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(sent, expected):
                return Response(
                    "Send the metrics token: Authorization: Bearer <GATEWAY_METRICS_TOKEN>\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                    media_type="text/plain",
                )
        return Response(
            metrics.exposition(),
            media_type=CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )

    return [Route("/metrics", scrape, methods=["GET"], name="metrics")]
