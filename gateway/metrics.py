"""Prometheus metrics of the gateway: what operators graph and alert on.

One `GatewayMetrics` per app, in its own registry, so that apps built in one process (tests)
count apart. With several worker processes, prometheus-client's multiprocess mode keeps each
process's values in files under `PROMETHEUS_MULTIPROC_DIR` and a scrape of any worker adds
them all up; that variable must be in the environment before the gateway starts, as
prometheus-client reads it when first imported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from gateway.observations import CacheResult, CatalogBatch, EventOutcome, PersonalizeCall

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
MAX_OPERATION_NAMES: Final = 100  # distinct operation names labelled; the rest are "other"
OTHER_OPERATION: Final = "other"
ANONYMOUS_OPERATION: Final = "anonymous"
BREAKER_STATES: Final = {"closed": 0, "half-open": 1, "open": 2}
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_SIZE_BUCKETS: Final = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
_OPERATION_NAME: Final = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")

# Every metric the gateway exports, by name (Prometheus adds _total, _bucket... to samples).
METRIC_NAMES: Final = (
    "gateway_graphql_requests",
    "gateway_graphql_request_duration_seconds",
    "gateway_personalize_calls",
    "gateway_personalize_call_duration_seconds",
    "gateway_personalize_retries",
    "gateway_fallback_answers",
    "gateway_circuit_breaker_state",
    "gateway_cache_lookups",
    "gateway_catalog_batches",
    "gateway_catalog_batch_size",
    "gateway_catalog_batch_duration_seconds",
    "gateway_events",
    "gateway_events_buffered",
)


class MultiprocessModeError(ValueError):
    """A multiprocess directory is configured but prometheus-client was not started in it."""


class OperationNames:
    """Bounds the `operation` label: the first `limit` valid names keep theirs, later ones
    (and names that are not GraphQL names) count as "other"."""

    def __init__(self, limit: int = MAX_OPERATION_NAMES) -> None:
        self.limit = limit
        self._known: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS_OPERATION
        if name in self._known:
            return name
        if len(self._known) >= self.limit or not _OPERATION_NAME.fullmatch(name):
            return OTHER_OPERATION
        self._known.add(name)
        return name


class GatewayMetrics:
    """The gateway's metrics; an `Observer` of the adapters, and of requests through `request`.

    `multiprocess_dir` is where prometheus-client's multiprocess mode keeps the values of every
    worker process (it must be the directory of `PROMETHEUS_MULTIPROC_DIR`); None counts in
    this process only.
    """

    def __init__(self, *, multiprocess_dir: Path | None = None) -> None:
        if multiprocess_dir is not None and values.ValueClass is values.MutexValue:
            raise MultiprocessModeError(
                f"metrics for several processes in {multiprocess_dir} need "
                f"PROMETHEUS_MULTIPROC_DIR={multiprocess_dir} in the environment before the "
                "gateway starts"
            )
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self.operation_names = OperationNames()
        registry = self.registry
        self.graphql_requests = Counter(
            "gateway_graphql_requests",
            "GraphQL requests by operation name and outcome (ok, partial, error, refused).",
            ("operation", "outcome"),
            registry=registry,
        )
        self.graphql_duration = Histogram(
            "gateway_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name.",
            ("operation",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.personalize_calls = Counter(
            "gateway_personalize_calls",
            "Calls to Amazon Personalize by API operation and outcome "
            "(ok, throttled, unavailable, invalid_input, not_found, error).",
            ("api", "outcome"),
            registry=registry,
        )
        self.personalize_duration = Histogram(
            "gateway_personalize_call_duration_seconds",
            "Time of a call to Amazon Personalize, botocore's retries included.",
            ("api",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.personalize_retries = Counter(
            "gateway_personalize_retries",
            "Attempts botocore made again within calls to Amazon Personalize.",
            ("api",),
            registry=registry,
        )
        self.fallback_answers = Counter(
            "gateway_fallback_answers",
            "Answers given by a stand-in instead of Personalize, by root field and source "
            "(stale, fallback_arn, fallback_items, input_order).",
            ("field", "source"),
            registry=registry,
        )
        self.breaker_state_gauge = Gauge(
            "gateway_circuit_breaker_state",
            "The circuit breaker in front of Personalize: 0 closed, 1 half-open, 2 open "
            "(the highest of the live processes).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.cache_lookups = Counter(
            "gateway_cache_lookups",
            "Cache lookups by cache (response, stale, http, persisted_query) and result "
            "(hit, miss, coalesced, unavailable).",
            ("cache", "result"),
            registry=registry,
        )
        self.catalog_batches = Counter(
            "gateway_catalog_batches",
            "Catalog lookups of a batch of item ids, by source and outcome (ok, failed).",
            ("source", "outcome"),
            registry=registry,
        )
        self.catalog_batch_size = Histogram(
            "gateway_catalog_batch_size",
            "Item ids asked for in one catalog batch.",
            ("source",),
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        self.catalog_duration = Histogram(
            "gateway_catalog_batch_duration_seconds",
            "Time of one catalog batch.",
            ("source",),
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.events_counter = Counter(
            "gateway_events",
            "User events by outcome: accepted by recordEvents or the webhook, delivered to "
            "Personalize, failed.",
            ("outcome",),
            registry=registry,
        )
        self.events_buffered_gauge = Gauge(
            "gateway_events_buffered",
            "User events accepted and not yet delivered or failed: waiting in the buffer or "
            "on their way to Personalize (the sum of the live processes).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.breaker_state_gauge.set(0)
        self.events_buffered_gauge.set(0)

    def request(self, operation: str | None, outcome: str, seconds: float) -> None:
        """Count one GraphQL request that took `seconds`."""
        label = self.operation_names.label(operation)
        self.graphql_requests.labels(label, outcome).inc()
        self.graphql_duration.labels(label).observe(seconds)

    def personalize_call(self, call: PersonalizeCall) -> None:
        self.personalize_calls.labels(call.api, call.outcome).inc()
        self.personalize_duration.labels(call.api).observe(call.seconds)
        if call.retries:
            self.personalize_retries.labels(call.api).inc(call.retries)

    def catalog_batch(self, batch: CatalogBatch) -> None:
        self.catalog_batches.labels(batch.source, "ok" if batch.ok else "failed").inc()
        self.catalog_batch_size.labels(batch.source).observe(batch.ids)
        self.catalog_duration.labels(batch.source).observe(batch.seconds)

    def fallback_answer(self, field: str, source: str) -> None:
        self.fallback_answers.labels(field, source).inc()

    def breaker_state(self, state: str) -> None:
        self.breaker_state_gauge.set(BREAKER_STATES.get(state, 0))

    def events(self, outcome: EventOutcome, count: int) -> None:
        self.events_counter.labels(outcome).inc(count)

    def events_buffered(self, count: int) -> None:
        self.events_buffered_gauge.set(count)

    def cache_lookup(self, cache: str, result: CacheResult) -> None:
        self.cache_lookups.labels(cache, result).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: of every process in multiprocess mode."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=str(self.multiprocess_dir)
        )
        return generate_latest(registry)
