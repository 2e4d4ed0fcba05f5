"""Answers that stand in for Personalize's when it cannot answer, behind a circuit breaker."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.observations import CacheResult, Observer
from gateway.personalize.breaker import BreakerState, CircuitBreaker, current_request
from gateway.personalize.connections import Busy
from gateway.personalize.stale import AnswerStore, request_key
from schema.limits import MAX_ID_LENGTH, MAX_NUM_RESULTS
from schema.ports import (
    FilterRequest,
    PortError,
    PromotionRequest,
    Recommendation,
    Recommendations,
    RecommendationSource,
    Recommender,
    Throttled,
    Unavailable,
)

logger = logging.getLogger(__name__)

# A popularity campaign needs a userId even though it ignores it; related items may have none.
ANONYMOUS_USER_ID = "anonymous"
UPSTREAM_FAILURES = (Throttled, Unavailable)
FALLBACK = RecommendationSource.FALLBACK

StandIn = Callable[[], Awaitable["tuple[str, Recommendations] | None"]]


class FallbackItemsError(ValueError):
    """The fallback items file cannot be used; the message names the file and the line."""


@dataclass
class FallbackCounters:
    """How many requests each stand-in answered since start-up (shown by /readyz)."""

    stale: int = 0  # the last good answer to the same request
    fallback_arn: int = 0  # the popularity campaign or recommender
    fallback_items: int = 0  # the static list of item ids
    input_order: int = 0  # a ranking's own items, unranked
    unanswered: int = 0  # no stand-in: the client got the upstream error
    skipped_by_breaker: int = 0  # requests that did not call Personalize: the breaker was open


class FallbackRecommender:
    """The `Recommender` the API serves from: Personalize, or a stand-in when it cannot answer.

    Each request goes to `personalize` unless the breaker is open. When Personalize is throttling,
    failing, too slow or unreachable (after botocore's retries and the deadline), or skipped, the
    answer comes from, in order: the last good answer to the same request (`stale`), the
    `popular` recommender (a popularity campaign or recommender on the same client, asked only
    while the breaker is closed), the static `popular_items`. A ranking falls back to its own
    items in their input order. Stand-in answers say `source: FALLBACK` and carry no
    recommendation id unless Personalize gave them one. Client errors (bad input, not found) are
    never hidden; with no stand-in the original error reaches the client. A failure counts
    against the breaker for the request (`current_request`) and the user it was for, and not
    at all when the call waited for a connection and missed its deadline (Busy: the gateway
    was busy, Personalize maybe not). Once a user's events
    reach Personalize, `invalidate_user` drops that user's stale answers, so recommendations
    follow the events even while Personalize cannot answer. `observer` hears of every
    stand-in answer, stale-answer lookup and change of the breaker's state.
    """

    def __init__(
        self,
        personalize: Recommender,
        *,
        stale: AnswerStore,
        breaker: CircuitBreaker,
        popular: Recommender | None = None,
        popular_items: Sequence[str] = (),
        observer: Observer | None = None,
    ) -> None:
        self.observer = observer
        self._reported_state = breaker.state
        self.personalize = personalize
        self.stale = stale
        self.breaker = breaker
        self.popular = popular
        self.popular_items = tuple(popular_items)
        self.counters = FallbackCounters()

    def describe(self) -> dict[str, Any]:
        """The breaker's state and the counters, for /readyz."""
        return {
            "breaker": self.breaker.state.value,
            "consecutive_failures": self.breaker.consecutive_failures,
            "stale": self.stale.describe(),
            "fallbacks": dataclasses.asdict(self.counters),
        }

    async def invalidate_user(self, user_id: str) -> None:
        """Forget the user's stale answers: their events have reached Personalize."""
        await self.stale.invalidate_user(user_id)

    async def recommend(
        self,
        *,
        user_id: str,
        num_results: int,
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
        promotion: PromotionRequest | None,
        key: bytes | None = None,
    ) -> Recommendations:
        """Personalize's answer, or a stand-in's. `key`, when the caller has it, is
        `request_key` of this request (likewise for `related_items` and `rank`)."""
        if key is None:
            key = request_key(
                "recommend",
                user_id=user_id,
                num_results=num_results,
                filter=filter,
                personalize_context=personalize_context,
                promotion=promotion,
            )

        async def stand_in() -> tuple[str, Recommendations] | None:
            return await self._popular(
                user_id, num_results, filter, personalize_context, exclude=None
            )

        return await self._answer(
            "recommendations",
            key,
            user_id,
            lambda: self.personalize.recommend(
                user_id=user_id,
                num_results=num_results,
                filter=filter,
                personalize_context=personalize_context,
                promotion=promotion,
            ),
            stand_in,
        )

    async def related_items(
        self,
        *,
        item_id: str,
        user_id: str | None,
        num_results: int,
        filter: FilterRequest | None,
        key: bytes | None = None,
    ) -> Recommendations:
        if key is None:
            key = request_key(
                "related_items",
                item_id=item_id,
                user_id=user_id,
                num_results=num_results,
                filter=filter,
            )

        async def stand_in() -> tuple[str, Recommendations] | None:
            return await self._popular(user_id, num_results, filter, {}, exclude=item_id)

        return await self._answer(
            "relatedItems",
            key,
            user_id,
            lambda: self.personalize.related_items(
                item_id=item_id, user_id=user_id, num_results=num_results, filter=filter
            ),
            stand_in,
        )

    async def rank(
        self,
        *,
        user_id: str,
        item_ids: Sequence[str],
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
        key: bytes | None = None,
    ) -> Recommendations:
        if key is None:
            key = request_key(
                "rank",
                user_id=user_id,
                item_ids=list(item_ids),
                filter=filter,
                personalize_context=personalize_context,
            )

        async def stand_in() -> tuple[str, Recommendations] | None:
            unranked = tuple(Recommendation(item, None) for item in dict.fromkeys(item_ids))
            return "input_order", Recommendations(None, unranked, FALLBACK)

        return await self._answer(
            "ranking",
            key,
            user_id,
            lambda: self.personalize.rank(
                user_id=user_id,
                item_ids=item_ids,
                filter=filter,
                personalize_context=personalize_context,
            ),
            stand_in,
        )

    async def _answer(
        self,
        field: str,
        key: bytes,
        user_id: str | None,
        call: Callable[[], Awaitable[Recommendations]],
        stand_in: StandIn,
    ) -> Recommendations:
        try:
            return await self._answer_or_fall_back(field, key, user_id, call, stand_in)
        finally:
            if self.observer is not None and self.breaker.state is not self._reported_state:
                self._reported_state = self.breaker.state
                self.observer.breaker_state(self._reported_state.value)

    async def _answer_or_fall_back(
        self,
        field: str,
        key: bytes,
        user_id: str | None,
        call: Callable[[], Awaitable[Recommendations]],
        stand_in: StandIn,
    ) -> Recommendations:
        failure: PortError
        if not self.breaker.allow():
            self.counters.skipped_by_breaker += 1
            failure = Unavailable(
                "Amazon Personalize keeps failing, so the gateway pauses calling it for "
                f"{self.breaker.cool_down:g} s at a time (circuit breaker open); retry later."
            )
        else:
            try:
                answer = await call()
            except Busy as error:
                self.breaker.record_abandoned()  # the gateway was busy, not Personalize
                failure = error
            except UPSTREAM_FAILURES as error:
                self.breaker.record_failure(request=current_request.get(), user=user_id)
                failure = error
            except PortError:
                self.breaker.record_success()  # Personalize answered: the request is at fault
                raise
            except BaseException:
                self.breaker.record_abandoned()
                raise
            else:
                self.breaker.record_success()
                await self.stale.put(key, answer, user_id=user_id)
                return answer
        return await self._fall_back(field, key, user_id, failure, stand_in)

    async def _fall_back(
        self,
        field: str,
        key: bytes,
        user_id: str | None,
        failure: PortError,
        stand_in: StandIn,
    ) -> Recommendations:
        lookup = await self.stale.get(key, user_id=user_id)
        kept = lookup.answer
        if self.observer is not None:
            result: CacheResult = (
                "hit" if kept is not None else "unavailable" if lookup.unavailable else "miss"
            )
            self.observer.cache_lookup("stale", result)
        if kept is not None:
            self._count(field, "stale", failure)
            return dataclasses.replace(kept, recommendation_id=None, source=FALLBACK)
        found = await stand_in()
        if found is not None:
            name, answer = found
            self._count(field, name, failure)
            return answer
        self.counters.unanswered += 1
        logger.warning(
            "%s: no fallback configured or able to answer; the client gets %s",
            field,
            type(failure).__name__,
        )
        raise failure

    async def _popular(
        self,
        user_id: str | None,
        num_results: int,
        filter: FilterRequest | None,
        personalize_context: Mapping[str, str],
        *,
        exclude: str | None,
    ) -> tuple[str, Recommendations] | None:
        # A related item is never the item itself: ask for one more in case it is popular.
        wanted = min(num_results + (exclude is not None), MAX_NUM_RESULTS)
        if self.popular is not None and self.breaker.state is BreakerState.CLOSED:
            try:
                answer = await self.popular.recommend(
                    user_id=user_id or ANONYMOUS_USER_ID,
                    num_results=wanted,
                    filter=filter,
                    personalize_context=personalize_context,
                    promotion=None,
                )
            except Exception as error:
                # A stand-in that fails must not replace the error it stands in for.
                logger.warning("The fallback ARN could not answer either: %s", error)
            else:
                items = tuple(item for item in answer.items if item.item_id != exclude)
                return "fallback_arn", Recommendations(
                    answer.recommendation_id, items[:num_results], FALLBACK
                )
        if self.popular_items:
            ids = [item for item in self.popular_items[:wanted] if item != exclude]
            unscored = tuple(Recommendation(item, None) for item in ids[:num_results])
            return "fallback_items", Recommendations(None, unscored, FALLBACK)
        return None

    def _count(self, field: str, name: str, failure: PortError) -> None:
        setattr(self.counters, name, getattr(self.counters, name) + 1)
        if self.observer is not None:
            self.observer.fallback_answer(field, name)
        logger.warning(
            "%s answered by the fallback (%s) instead of Personalize (%s)",
            field,
            name,
            type(failure).__name__,
        )


def load_fallback_items(path: Path) -> tuple[str, ...]:
    """Item ids, most popular first, from a JSON list of strings or a file of one id per line.

    In a line file, blank lines and lines starting with `#` are skipped; duplicates keep their
    first place.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise FallbackItemsError(f"cannot read {path} ({reason})") from None
    if text.lstrip()[:1] in ("[", "{"):
        ids = _json_ids(path, text)
    else:
        ids = [
            _checked_id(path, f"line {number}", line.strip())
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip() and not line.lstrip().startswith("#")
        ]
    if not ids:
        raise FallbackItemsError(
            f"{path} holds no item ids; write one id per line or a JSON list such as "
            '["item-1", "item-2"]'
        )
    return tuple(dict.fromkeys(ids))


def _json_ids(path: Path, text: str) -> list[str]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise FallbackItemsError(
            f"{path}, line {error.lineno}, column {error.colno}: not valid JSON ({error.msg}); "
            "expected a list of item ids"
        ) from None
    if not isinstance(value, list):
        raise FallbackItemsError(f"{path} must hold a JSON list of item ids")
    return [_checked_id(path, f"entry {index}", entry) for index, entry in enumerate(value)]


def _checked_id(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_ID_LENGTH:
        raise FallbackItemsError(
            f"{path}, {where}: {value!r:.80} is not an item id (a string of 1 to "
            f"{MAX_ID_LENGTH} characters)"
        )
    return value.strip()
