"""Connections to Personalize as a counted resource: a call waits for one within its deadline."""

from __future__ import annotations

import asyncio
from types import TracebackType

from schema.ports import Unavailable


class Busy(Unavailable):
    """A call missed its deadline after waiting for a pooled connection: the gateway was busy.

    Personalize was not asked, or not for the whole deadline, so this says nothing sure about
    its health and the breaker does not count it; the client sees UPSTREAM_UNAVAILABLE like
    any other missed deadline.
    """


class ConnectionSlots:
    """At most `size` Personalize calls in flight, one per pooled connection of the client.

    Sized like the client's `max_pool_connections`, a call holding a slot never queues inside
    the HTTP pool, so the time a call waits for a connection is spent here, where the caller's
    deadline covers it and can tell it apart from Personalize being slow. Share one instance
    between every recommender on the same client. Use as `async with slots:`; `busy` says
    whether a call would wait for its slot now.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be 1 or more, got {size}")
        self.size = size
        self.in_use = 0  # slots held right now
        self._semaphore = asyncio.Semaphore(size)

    @property
    def busy(self) -> bool:
        """Every slot is held (or promised to a call already waiting)."""
        return self._semaphore.locked()

    async def __aenter__(self) -> None:
        await self._semaphore.acquire()
        self.in_use += 1

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.in_use -= 1
        self._semaphore.release()
