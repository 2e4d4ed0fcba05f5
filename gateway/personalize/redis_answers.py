"""Personalize answers kept in Redis, shared by every replica: the response cache and the
stale answers when several processes or machines serve the same app.

Keys (`P` the configured prefix, `S` the store's name, `U` a digest of the user id):

    P:v1:S:{U}:generation       the user's generation: "0" until their first event, then a
                                random token replaced at each event (TTL: the store's + 1 s)
    P:v1:S:{U}:GEN:REQUEST      an answer, for the request's digest under that generation
                                (TTL: the store's max age)

Forgetting a user's answers is one SET of a new generation, whatever their number: the old
answers are never read again and expire on their own. Reading the generation and the answer is
one round trip (a script). An answer asked for under one generation is not stored once the
generation has changed, so a call in flight on one replica while an event is recorded on
another keeps nothing out of date. `{U}` keeps a user's keys in one slot of a Redis Cluster.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
from typing import Any, Final

import orjson

from gateway.personalize.stale import MISS, Lookup
from gateway.redis_link import RedisLink, RedisUnavailable
from schema.ports import CatalogItem, Recommendation, Recommendations, RecommendationSource

logger = logging.getLogger(__name__)

KEY_VERSION: Final = "v1"  # changes with the value's format, so versions never misread
NO_USER: Final = "-"  # requests without a user: never invalidated
MARGIN_MS: Final = 1000

_GET = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
"""
_PUT = """
local generation = redis.call('GET', KEYS[1]) or '0'
if ARGV[3] ~= '' and ARGV[3] ~= generation then
  return 0
end
redis.call('SET', ARGV[1] .. generation .. ':' .. ARGV[2], ARGV[4], 'PX', ARGV[5])
return 1
"""


class RedisAnswerStore:
    """An `AnswerStore` in Redis through `link`, under `prefix`, named `name` ("response",
    "stale"); answers expire `max_age` seconds after they were put (on Redis' clock).

    When Redis is down or slow, `get` finds nothing (marked `unavailable`), and `put` and
    `invalidate_user` do nothing: the caller answers from Personalize as without a cache.
    """

    def __init__(self, link: RedisLink, *, name: str, prefix: str, max_age: float) -> None:
        self.link = link
        self.name = name
        self.max_age = max_age
        self._base = f"{prefix}:{KEY_VERSION}:{name}:"
        self._ttl_ms = max(1, round(max_age * 1000))
        self._get = link.client.register_script(_GET)
        self._put = link.client.register_script(_PUT)

    def describe(self) -> dict[str, Any]:
        return {"store": "redis"}

    async def get(self, key: bytes, *, user_id: str | None = None) -> Lookup:
        user = self._user(user_id)
        try:
            generation, value = await self.link.call(
                lambda _: self._get(keys=[user + "generation"], args=[user, key.hex()])
            )
        except RedisUnavailable:
            return Lookup(None, unavailable=True)
        if value is None:
            return Lookup(None, generation)
        try:
            return Lookup(decode(value), generation)
        except (orjson.JSONDecodeError, ValueError, TypeError, IndexError):
            logger.warning("An unreadable answer in Redis's %s store is ignored", self.name)
            return MISS

    async def put(
        self,
        key: bytes,
        answer: Recommendations,
        *,
        user_id: str | None = None,
        generation: bytes | None = None,
    ) -> None:
        user = self._user(user_id)
        args: list[str | bytes | int] = [
            user,
            key.hex(),
            generation or b"",
            encode(answer),
            self._ttl_ms,
        ]
        with contextlib.suppress(RedisUnavailable):  # not kept: the next request asks again
            await self.link.call(lambda _: self._put(keys=[user + "generation"], args=args))

    async def invalidate_user(self, user_id: str) -> bool:
        """Give the user a new generation; False if Redis could not be told."""
        generation_key = self._user(user_id) + "generation"
        token = secrets.token_hex(8)
        try:
            await self.link.call(
                lambda client: client.set(generation_key, token, px=self._ttl_ms + MARGIN_MS)
            )
        except RedisUnavailable:
            return False
        return True

    def _user(self, user_id: str | None) -> str:
        if user_id is None:
            return f"{self._base}{{{NO_USER}}}:"
        digest = hashlib.blake2b(user_id.encode(errors="surrogatepass"), digest_size=12)
        return f"{self._base}{{{digest.hexdigest()}}}:"


def encode(answer: Recommendations) -> bytes:
    """`answer` as compact JSON: [id, source, [[item, score(, promotion, reasons, details)]]]."""
    return orjson.dumps(
        [answer.recommendation_id, answer.source.value, [_row(item) for item in answer.items]]
    )


def decode(value: bytes) -> Recommendations:
    """The answer `encode` wrote."""
    recommendation_id, source, rows = orjson.loads(value)
    return Recommendations(
        recommendation_id,
        tuple(_recommendation(row) for row in rows),
        RecommendationSource(source),
    )


def _row(item: Recommendation) -> list[Any]:
    row: list[Any] = [item.item_id, item.score]
    if item.promotion_name is not None or item.reasons or item.details is not None:
        details = item.details
        row += [
            item.promotion_name,
            list(item.reasons),
            None
            if details is None
            else [
                details.id,
                details.title,
                details.description,
                details.image_url,
                details.price,
                details.category,
                dict(details.attributes),
            ],
        ]
    return row


def _recommendation(row: list[Any]) -> Recommendation:
    if len(row) == 2:
        return Recommendation(row[0], row[1])
    item_id, score, promotion_name, reasons, details = row
    return Recommendation(
        item_id,
        score,
        promotion_name,
        tuple(reasons),
        None if details is None else CatalogItem(*details),
    )
