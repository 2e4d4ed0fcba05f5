"""Buffered event delivery: answer at once, send to Personalize in the background, lose nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from gateway.events.sender import EventCounters, PutEventsSender, chunks, with_event_ids
from schema import limits
from schema.ports import (
    Event,
    EventBatch,
    EventDelivery,
    PortError,
    RecordedEvents,
    Throttled,
    Unavailable,
)

logger = logging.getLogger(__name__)

MAX_BACKOFF = 30.0  # seconds between two attempts at most, however many failed before
MAX_IN_FLIGHT = 4  # PutEvents calls at once
RETRYABLE = (Throttled, Unavailable)

Sleep = Callable[[float], Awaitable[Any]]
GroupKey = tuple[str, str | None]  # (session id, user id)


class EventBuffer:
    """An `EventSink` that queues events and delivers them in the background.

    Events wait per (session, user) and go out 10 a PutEvents call as soon as 10 are waiting,
    or when `flush_interval` seconds have passed. A call that fails for a reason that may pass
    (throttling, an outage) is made again after `backoff` seconds, then after twice as long
    each time, up to `attempts` calls in all. At most `capacity` events wait or travel at
    once: past that, `record` raises Throttled and takes none of the batch, rather
    than dropping any. Each event has its id from the moment it is accepted, so a call made
    again after one whose answer was lost (a read timeout) records nothing twice.
    `close` delivers what is left (for up to `shutdown_timeout` seconds); every event ends up
    counted as delivered or failed, and failed ones are logged with their count.
    """

    delivery = EventDelivery.BUFFERED

    def __init__(
        self,
        sender: PutEventsSender,
        *,
        max_batch: int,
        capacity: int,
        flush_interval: float,
        attempts: int,
        backoff: float,
        shutdown_timeout: float,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.sender = sender
        self.max_batch = max_batch
        self.capacity = capacity
        self.flush_interval = flush_interval
        self.attempts = attempts
        self.backoff = backoff
        self.shutdown_timeout = shutdown_timeout
        self.counters = EventCounters()
        self._sleep = sleep
        self._groups: dict[GroupKey, list[Event]] = {}
        self._full = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._deliveries: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False

    async def __aenter__(self) -> EventBuffer:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def record(self, batch: EventBatch) -> RecordedEvents:
        if self._closing:
            raise Unavailable(
                "The gateway is shutting down and records no more events; retry shortly."
            )
        count = len(batch.events)
        if self.counters.pending + count > self.capacity:
            raise Throttled(
                f"The gateway's event buffer is full ({self.counters.pending} of "
                f"{self.capacity} events waiting for Personalize): none of these {count} events "
                "was recorded; retry later."
            )
        group = self._groups.setdefault((batch.session_id, batch.user_id), [])
        group.extend(with_event_ids(batch).events)
        self.counters.accepted += count
        self.counters.pending += count
        if self.sender.observer is not None:
            self.sender.observer.events("accepted", count)
            self.sender.observer.events_buffered(self.counters.pending)
        if len(group) >= limits.MAX_EVENTS_PER_CALL:
            self._full.set()
        return RecordedEvents(accepted=count, delivery=self.delivery)

    def start(self) -> None:
        """Start delivering in the background (within a running event loop)."""
        self._flusher = asyncio.create_task(self._flush_periodically(), name="event-buffer")

    async def close(self) -> None:
        """Refuse new events, deliver the waiting ones, and wait for every delivery to end."""
        self._closing = True
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
        self.flush()
        if self._deliveries:
            _, unfinished = await asyncio.wait(self._deliveries, timeout=self.shutdown_timeout)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        counters = self.counters
        log = logger.error if counters.failed else logger.info
        log(
            "Event buffer closed: %d events accepted, %d delivered to Personalize, %d failed",
            counters.accepted,
            counters.delivered,
            counters.failed,
        )

    def flush(self, *, full_only: bool = False) -> None:
        """Send the waiting events now: every one, or only runs of 10 with `full_only`."""
        for key, group in list(self._groups.items()):
            end = len(group) - len(group) % limits.MAX_EVENTS_PER_CALL if full_only else len(group)
            for _, chunk in chunks(group[:end]):
                self._start_delivery(key, chunk)
            del group[:end]
            if not group:
                del self._groups[key]

    def snapshot(self) -> dict[str, Any]:
        """Counters, delivery mode and capacity, for /readyz."""
        return {
            "delivery": self.delivery.value.lower(),
            **self.counters.as_dict(),
            "capacity": self.capacity,
        }

    async def _flush_periodically(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.flush_interval
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._full.wait()
                self._full.clear()
                self.flush(full_only=True)
            except TimeoutError:
                self.flush()
                deadline = loop.time() + self.flush_interval

    def _start_delivery(self, key: GroupKey, events: Sequence[Event]) -> None:
        task = asyncio.create_task(self._deliver(key, events))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, key: GroupKey, events: Sequence[Event]) -> None:
        session_id, user_id = key
        attempt, delivered, reason = 0, False, "not sent"
        try:
            while not delivered:
                attempt += 1
                try:
                    async with self._slots:
                        await self.sender.put(session_id, user_id, events)
                    delivered = True
                except PortError as error:
                    reason = f"{type(error).__name__}: {error.message}"
                    if not isinstance(error, RETRYABLE) or attempt >= self.attempts:
                        return
                    self.counters.retried += 1
                    await self._sleep(min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF))
                except Exception as error:
                    logger.exception("Unexpected error delivering events to Personalize")
                    reason = f"unexpected {type(error).__name__}"
                    return
        except asyncio.CancelledError:
            reason = f"the shutdown timeout ({self.shutdown_timeout:g} s) ran out; last: {reason}"
            raise
        finally:
            self.counters.pending -= len(events)
            if self.sender.observer is not None:
                self.sender.observer.events_buffered(self.counters.pending)
            if delivered:
                self.counters.delivered += len(events)
            else:
                self.counters.failed += len(events)
                logger.error(
                    "Gave up on %d events of session %s after %d PutEvents attempts: %s",
                    len(events),
                    session_id,
                    attempt,
                    reason,
                )
