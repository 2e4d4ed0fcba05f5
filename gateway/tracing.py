"""OpenTelemetry traces: a span per HTTP request, per GraphQL operation, per Personalize call and
per catalog batch, continuing the client's `traceparent`.

Needs the `[otel]` extra; nothing here is imported unless GATEWAY_OTEL_ENABLED is set, so a
gateway without tracing carries neither the SDK nor any of its cost. The tracer provider is the
app's own (not OpenTelemetry's global one), so two apps in one process trace apart.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gateway.observations import CacheResult, CatalogBatch, EventOutcome, PersonalizeCall

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

INSTRUMENTATION_NAME = "personalize-gateway"


class TracingUnavailable(RuntimeError):
    """Tracing is asked for but the OpenTelemetry SDK is not installed."""


class Tracing:
    """Makes the gateway's spans with `provider`'s tracer; an `Observer` of the adapters.

    Personalize calls and catalog batches are reported once they are over, so their spans are
    made then with the measured start and end: children of the GraphQL operation's span, which
    is current while its resolvers run.
    """

    def __init__(self, provider: TracerProvider) -> None:
        from opentelemetry import trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self.tracer: Tracer = provider.get_tracer(INSTRUMENTATION_NAME)
        self._trace = trace
        self._propagator = TraceContextTextMapPropagator()

    @contextlib.contextmanager
    def http_span(self, method: str, path: str, headers: dict[str, str]) -> Iterator[Span]:
        """The server span of one HTTP request, in the client's trace if it sent `traceparent`."""
        from opentelemetry.trace import SpanKind

        parent = self._propagator.extract(carrier=headers)
        with self.tracer.start_as_current_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            yield span

    @contextlib.contextmanager
    def operation_span(self, operation_type: str, name: str | None) -> Iterator[Span]:
        """The span of one GraphQL operation, current while it runs."""
        attributes: dict[str, Any] = {"graphql.operation.type": operation_type}
        if name:
            attributes["graphql.operation.name"] = name
        title = f"{operation_type} {name}" if name else operation_type
        with self.tracer.start_as_current_span(title, attributes=attributes) as span:
            yield span

    def trace_id(self) -> str | None:
        """The current trace's id in hex, for log lines; None outside a sampled span."""
        context = self._trace.get_current_span().get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None

    def personalize_call(self, call: PersonalizeCall) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        attributes: dict[str, Any] = {
            "rpc.system": "aws-api",
            "rpc.service": "PersonalizeRuntime" if call.api != "PutEvents" else "PersonalizeEvents",
            "rpc.method": call.api,
            "personalize.outcome": call.outcome,
            "personalize.retries": call.retries,
        }
        if call.arn_kind is not None:
            attributes["personalize.arn_kind"] = call.arn_kind
        if call.num_results is not None:
            attributes["personalize.num_results"] = call.num_results
        span = self.tracer.start_span(
            f"Personalize.{call.api}",
            kind=SpanKind.CLIENT,
            start_time=call.started_ns,
            attributes=attributes,
        )
        if call.outcome != "ok":
            span.set_status(Status(StatusCode.ERROR, call.outcome))
        span.end(end_time=call.started_ns + int(call.seconds * 1e9))

    def catalog_batch(self, batch: CatalogBatch) -> None:
        from opentelemetry.trace import Status, StatusCode

        span = self.tracer.start_span(
            f"catalog.{batch.source}",
            start_time=batch.started_ns,
            attributes={
                "catalog.source": batch.source,
                "catalog.ids": batch.ids,
                "catalog.found": batch.found,
            },
        )
        if not batch.ok:
            span.set_status(Status(StatusCode.ERROR, "catalog batch failed"))
        span.end(end_time=batch.started_ns + int(batch.seconds * 1e9))

    def fallback_answer(self, field: str, source: str) -> None:
        self._trace.get_current_span().add_event(
            "fallback", {"graphql.field": field, "fallback.source": source}
        )

    def breaker_state(self, state: str) -> None:
        self._trace.get_current_span().add_event("circuit_breaker", {"state": state})

    def events(self, outcome: EventOutcome, count: int) -> None:
        pass  # PutEvents calls have their own spans

    def events_buffered(self, count: int) -> None:
        pass  # a process's level, not a request's

    def cache_lookup(self, cache: str, result: CacheResult) -> None:
        self._trace.get_current_span().add_event(
            "cache", {"cache.name": cache, "cache.result": result}
        )

    def shutdown(self) -> None:
        """Send the spans still waiting, then stop."""
        self.provider.shutdown()


def build_tracing(
    *,
    service_name: str,
    sampling_ratio: float,
    endpoint: str | None,
    exporter: SpanExporter | None = None,
) -> Tracing:
    """Tracing that sends spans to `exporter`, else OTLP over HTTP to `endpoint` (else to the
    OpenTelemetry SDK's own OTEL_EXPORTER_OTLP_* configuration), sampling `sampling_ratio` of
    new traces and following the client's decision for continued ones."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError as error:
        raise TracingUnavailable(
            f"tracing needs OpenTelemetry ({error.name} is missing): install "
            "personalize-gateway[otel]"
        ) from None
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}),
        sampler=ParentBased(TraceIdRatioBased(sampling_ratio)),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as error:
            raise TracingUnavailable(
                f"tracing needs the OTLP exporter ({error.name} is missing): install "
                "personalize-gateway[otel]"
            ) from None
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider)
