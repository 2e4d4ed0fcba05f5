"""Each GraphQL request measured, traced and logged on its way out: one line, one span tree,
one count. Added only when metrics, tracing or JSON logs are on."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import MutableMapping
from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import GatewayMetrics
from gateway.observations import RequestRecord, current_record
from gateway.tracing import Tracing

logger = logging.getLogger("gateway.requests")

OUTCOME_KEY: Final = "gateway.outcome"
OBSERVED_PATHS: Final = frozenset({"/graphql"})


def mark_outcome(scope: MutableMapping[str, Any], outcome: str) -> None:
    """Called by the view: ok (data, no error), partial (data and errors) or error."""
    scope[OUTCOME_KEY] = outcome


class ObservingMiddleware:
    """Around the GraphQL endpoint: a `RequestRecord` the adapters' reports fill in, a server
    span (continuing the client's `traceparent`) when `tracing` is on, then the request counted
    in `metrics` and summed up in one log line. A request refused before any GraphQL ran (401,
    400, 413) counts as "refused". User ids are logged only with `log_user_ids`.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: GatewayMetrics | None,
        tracing: Tracing | None,
        log_user_ids: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.log_user_ids = log_user_ids

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in OBSERVED_PATHS:
            await self.app(scope, receive, send)
            return
        record = RequestRecord()
        token = current_record.set(record)
        status = 500
        started = time.perf_counter()

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with self._span(scope, record) as span:
                await self.app(scope, receive, note_status)
                if span is not None:
                    span.set_attribute("http.response.status_code", status)
        finally:
            seconds = time.perf_counter() - started
            outcome = scope.get(OUTCOME_KEY, "refused" if status < 500 else "error")
            if status == 304:
                outcome = "ok"
            if self.metrics is not None:
                self.metrics.request(record.operation, outcome, seconds)
            self._log(scope, record, status, outcome, seconds)
            current_record.reset(token)

    def _span(self, scope: Scope, record: RequestRecord) -> contextlib.AbstractContextManager[Any]:
        if self.tracing is None:
            return contextlib.nullcontext()
        headers = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in (b"traceparent", b"tracestate")
        }
        span = self.tracing.http_span(scope["method"], scope["path"], headers)
        return _TraceIdNoted(span, self.tracing, record)

    def _log(
        self, scope: Scope, record: RequestRecord, status: int, outcome: str, seconds: float
    ) -> None:
        logger.info(
            "%s %s %d %s in %.1f ms",
            scope["method"],
            scope["path"],
            status,
            record.operation or "-",
            seconds * 1000,
            extra={
                "method": scope["method"],
                "path": scope["path"],  # never the query string: it may hold variables
                "status": status,
                "operation": record.operation,
                "outcome": outcome,
                "duration_ms": round(seconds * 1000, 3),
                "upstream_calls": record.upstream_calls,
                "upstream_failures": record.upstream_failures,
                "upstream_retries": record.upstream_retries,
                "catalog_batches": record.catalog_batches,
                "fallback": record.fallback or None,
                "cache": record.cache or None,
                "user_id": record.user_id if self.log_user_ids else None,
            },
        )


class _TraceIdNoted(contextlib.AbstractContextManager[Any]):
    """Enters the request's span and notes its trace id in the record, for log lines."""

    def __init__(
        self, span: contextlib.AbstractContextManager[Any], tracing: Tracing, record: RequestRecord
    ) -> None:
        self._span = span
        self._tracing = tracing
        self._record = record

    def __enter__(self) -> Any:
        entered = self._span.__enter__()
        self._record.trace_id = self._tracing.trace_id()
        return entered

    def __exit__(self, *exc_info: Any) -> bool | None:
        return self._span.__exit__(*exc_info)
