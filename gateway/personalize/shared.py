"""Personalize answers shared: identical requests in flight share one call, and, when asked
for, a fresh answer is given again for a while (the response cache)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from gateway.observations import CacheResult, Observer
from gateway.personalize.fallback import FallbackRecommender
from gateway.personalize.stale import AnswerStore, request_key
from schema.ports import (
    FilterRequest,
    PromotionRequest,
    Recommendations,
    RecommendationSource,
    Recommender,
)


class DescribedRecommender(Recommender, Protocol):
    """A Recommender that reports its state to /readyz and forgets a user's answers."""

    def describe(self) -> dict[str, Any]: ...

    async def invalidate_user(self, user_id: str) -> None: ...


@dataclass
class SharingCounters:
    """Requests counted since start-up, for /readyz."""

    hits: int = 0  # answered by the response cache
    misses: int = 0  # not in the response cache (counted only when it is on)
    coalesced: int = 0  # answered by a call another request had in flight
    unavailable: int = 0  # the response cache could not be asked (a shared store down or slow)


class SharedRecommender:
    """`recommender` with identical concurrent requests sharing one call, always.

    The key is the whole request (operation, user, item, size, filter, context, promotion), so
    answers are never shared across users. With a `cache` (an `AnswerStore` whose `max_age` is
    the response cache's time to live, in this process or shared by replicas), a Personalize
    answer is kept and given again to the same request; fallback answers are not kept. A
    request identical to one in flight waits for it without asking the cache.
    `invalidate_user` drops the user's kept answers, and keeps an answer in flight at that
    moment from being stored.
    """

    def __init__(
        self,
        recommender: DescribedRecommender,
        *,
        cache: AnswerStore | None,
        observer: Observer | None = None,
    ) -> None:
        self.recommender = recommender
        # A FallbackRecommender takes the request's key from here rather than digest it again.
        self._keyed = recommender if isinstance(recommender, FallbackRecommender) else None
        self.cache = cache
        self.observer = observer
        self.counters = SharingCounters()
        self._in_flight: dict[bytes, asyncio.Future[Recommendations]] = {}
        self._generations: dict[str, int] = {}  # user -> invalidations, while any in flight

    def describe(self) -> dict[str, Any]:
        """The wrapped recommender's state, and the sharing counters, for /readyz."""
        sharing: dict[str, Any] = {**asdict(self.counters), "in_flight": len(self._in_flight)}
        if self.cache is not None:
            sharing |= {**self.cache.describe(), "ttl": self.cache.max_age}
        return {**self.recommender.describe(), "response_cache": sharing}

    async def invalidate_user(self, user_id: str) -> None:
        """Forget what is kept for `user_id`: their events have reached Personalize."""
        if self.cache is not None:
            if user_id in self._generations:
                self._generations[user_id] += 1
            await self.cache.invalidate_user(user_id)
        await self.recommender.invalidate_user(user_id)

    async def recommend(
        self,
        *,
        user_id: str,
        num_results: int,
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
        promotion: PromotionRequest | None,
    ) -> Recommendations:
        arguments: dict[str, Any] = {
            "user_id": user_id,
            "num_results": num_results,
            "filter": filter,
            "personalize_context": personalize_context,
            "promotion": promotion,
        }
        key = request_key("recommend", **arguments)
        keyed = self._keyed
        return await self._share(
            key,
            user_id,
            (lambda: self.recommender.recommend(**arguments))
            if keyed is None
            else lambda: keyed.recommend(**arguments, key=key),
        )

    async def related_items(
        self,
        *,
        item_id: str,
        user_id: str | None,
        num_results: int,
        filter: FilterRequest | None,
    ) -> Recommendations:
        arguments: dict[str, Any] = {
            "item_id": item_id,
            "user_id": user_id,
            "num_results": num_results,
            "filter": filter,
        }
        key = request_key("related_items", **arguments)
        keyed = self._keyed
        return await self._share(
            key,
            user_id,
            (lambda: self.recommender.related_items(**arguments))
            if keyed is None
            else lambda: keyed.related_items(**arguments, key=key),
        )

    async def rank(
        self,
        *,
        user_id: str,
        item_ids: Sequence[str],
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
    ) -> Recommendations:
        arguments: dict[str, Any] = {
            "user_id": user_id,
            "item_ids": list(item_ids),
            "filter": filter,
            "personalize_context": personalize_context,
        }
        key = request_key("rank", **arguments)
        keyed = self._keyed
        return await self._share(
            key,
            user_id,
            (lambda: self.recommender.rank(**arguments))
            if keyed is None
            else lambda: keyed.rank(**arguments, key=key),
        )

    async def _share(
        self,
        key: bytes,
        user_id: str | None,
        call: Callable[[], Awaitable[Recommendations]],
    ) -> Recommendations:
        pending = self._in_flight.get(key)
        generation = None
        if pending is None and self.cache is not None:
            found = await self.cache.get(key, user_id=user_id)
            if found.answer is not None:
                self.counters.hits += 1
                self._observe("hit")
                return found.answer
            if found.unavailable:
                self.counters.unavailable += 1
                self._observe("unavailable")
            else:
                self.counters.misses += 1
                self._observe("miss")
            generation = found.generation
            pending = self._in_flight.get(key)  # started by another while the cache was asked
        if pending is not None:
            self.counters.coalesced += 1
            self._observe("coalesced")
        else:
            pending = self._start(key, user_id, call, generation)
        # Shielded: a caller that goes away does not cancel the call the others wait for.
        return await asyncio.shield(pending)

    def _observe(self, result: CacheResult) -> None:
        if self.observer is not None:
            self.observer.cache_lookup("response", result)

    def _start(
        self,
        key: bytes,
        user_id: str | None,
        call: Callable[[], Awaitable[Recommendations]],
        cache_generation: bytes | None,
    ) -> asyncio.Future[Recommendations]:
        tracked = self.cache is not None and user_id is not None
        if tracked:
            assert user_id is not None
            generation = self._generations.setdefault(user_id, 0)

        async def run() -> Recommendations:
            answer = await call()
            if (
                self.cache is not None
                and answer.source is RecommendationSource.PERSONALIZE
                and (not tracked or self._generations.get(user_id or "") == generation)
            ):
                await self.cache.put(key, answer, user_id=user_id, generation=cache_generation)
            return answer

        task = asyncio.ensure_future(run())
        self._in_flight[key] = task

        def done(finished: asyncio.Future[Recommendations]) -> None:
            del self._in_flight[key]
            if not self._in_flight:
                self._generations.clear()
            if not finished.cancelled():
                finished.exception()  # retrieved: every waiter may have gone away

        task.add_done_callback(done)
        return task
