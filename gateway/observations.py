"""What the adapters report as they work, for metrics, traces and the request's log line.

Adapters take an optional `Observer` and call it after each Personalize call, catalog batch,
fallback answer or event; without one they report nothing and pay nothing. The observer is
built by the composition root from the settings (metrics, traces, or both), so adapters never
know which are on. Each report also lands in the `RequestRecord` of the request being served,
the summary its log line carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal, Protocol

# What a call to Personalize came to, as the port's exceptions say it.
Outcome = Literal["ok", "throttled", "unavailable", "invalid_input", "not_found", "error"]
EventOutcome = Literal["accepted", "delivered", "failed"]
# "unavailable": a cache shared through Redis could not be asked (down, slow, or paused).
CacheResult = Literal["hit", "miss", "coalesced", "unavailable"]


@dataclass(frozen=True, slots=True)
class PersonalizeCall:
    """One call to Personalize: its API operation, what it asked for, and how it went.

    `started_ns` is the wall clock (`time.time_ns()`) at the start, for trace spans;
    `seconds` is measured on the monotonic clock.
    """

    api: str  # GetRecommendations, GetPersonalizedRanking, PutEvents
    outcome: Outcome
    started_ns: int
    seconds: float
    retries: int = 0
    arn_kind: str | None = None  # campaign, recommender, event-tracker
    num_results: int | None = None


@dataclass(frozen=True, slots=True)
class CatalogBatch:
    """One catalog lookup of a batch of item ids."""

    source: str  # sqlite, dynamodb, ...
    ids: int
    found: int
    ok: bool
    started_ns: int
    seconds: float


class Observer(Protocol):
    """Receives what the adapters report; implementations must be quick and never raise."""

    def personalize_call(self, call: PersonalizeCall) -> None: ...

    def catalog_batch(self, batch: CatalogBatch) -> None: ...

    def fallback_answer(self, field: str, source: str) -> None: ...

    def breaker_state(self, state: str) -> None: ...

    def events(self, outcome: EventOutcome, count: int) -> None: ...

    def events_buffered(self, count: int) -> None:
        """`count` events now wait in this process's buffer or travel to Personalize."""
        ...

    def cache_lookup(self, cache: str, result: CacheResult) -> None: ...


@dataclass(slots=True)
class RequestRecord:
    """What one HTTP request cost, for its log line: filled in by `RecordingObserver`."""

    operation: str | None = None
    trace_id: str | None = None
    user_id: str | None = None
    upstream_calls: int = 0
    upstream_failures: int = 0
    upstream_retries: int = 0
    catalog_batches: int = 0
    fallback: list[str] = field(default_factory=list)  # the stand-ins that answered
    cache: list[str] = field(default_factory=list)  # "http:hit", "stale:miss", ...


current_record: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)


class RecordingObserver:
    """Notes each report in the current request's record, then passes it to `observers`."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self.observers = tuple(observers)

    def personalize_call(self, call: PersonalizeCall) -> None:
        record = current_record.get()
        if record is not None:
            record.upstream_calls += 1
            record.upstream_retries += call.retries
            record.upstream_failures += call.outcome != "ok"
        for observer in self.observers:
            observer.personalize_call(call)

    def catalog_batch(self, batch: CatalogBatch) -> None:
        record = current_record.get()
        if record is not None:
            record.catalog_batches += 1
        for observer in self.observers:
            observer.catalog_batch(batch)

    def fallback_answer(self, field: str, source: str) -> None:
        record = current_record.get()
        if record is not None:
            record.fallback.append(source)
        for observer in self.observers:
            observer.fallback_answer(field, source)

    def breaker_state(self, state: str) -> None:
        for observer in self.observers:
            observer.breaker_state(state)

    def events(self, outcome: EventOutcome, count: int) -> None:
        for observer in self.observers:
            observer.events(outcome, count)

    def events_buffered(self, count: int) -> None:
        for observer in self.observers:
            observer.events_buffered(count)

    def cache_lookup(self, cache: str, result: CacheResult) -> None:
        record = current_record.get()
        if record is not None:
            record.cache.append(f"{cache}:{result}")
        for observer in self.observers:
            observer.cache_lookup(cache, result)
