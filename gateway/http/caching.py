"""HTTP caching of GraphQL reads: `Cache-Control` and `ETag` on GET, 304 when nothing changed.

Only a successful query answered over GET may be cached (Strawberry refuses mutations over
GET): in the browser's own cache (`private`: answers are personal), for `max_age` seconds, then
revalidated with `If-None-Match`, so an unchanged answer costs a 304 and no body. Everything
else the endpoint answers (POST, errors, the IDE page) is marked `no-store` unless it says
otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.observing import OUTCOME_KEY
from gateway.observations import Observer

NOT_STORED: Final = "no-store"


class HttpCache:
    """Wraps the GraphQL endpoint (an ASGI app) to make its successful GET answers cacheable.

    The endpoint marks each result's outcome (`mark_outcome`); only an `ok` one (data, no error)
    is cacheable, and the body is not read again.

    `max_age` is how many seconds a browser may reuse an answer before revalidating it; 0 makes
    it revalidate every time (and still get a 304 when the answer is the same). `vary` names
    the request headers an answer depends on besides the URL: those saying who asks.
    `observer` hears of each revalidation: a hit when the answer is unchanged (304).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_age: int,
        vary: Sequence[str] = ("Authorization",),
        observer: Observer | None = None,
    ) -> None:
        self.app = app
        self.observer = observer
        self.cache_control = f"private, max-age={max_age}"
        self.vary = ", ".join(vary)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["method"] == "GET":
            await self._get(scope, receive, send)
        else:
            await self.app(scope, receive, _not_stored(send))

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A GET answer is one small JSON body: held back until it is known to be cacheable.
        start: Message = {}
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._answer(scope, start, b"".join(chunks), send)
            else:
                await send(message)

        await self.app(scope, receive, hold)

    async def _answer(self, scope: Scope, start: Message, body: bytes, send: Send) -> None:
        headers = MutableHeaders(scope=start)
        if start["status"] != 200 or scope.get(OUTCOME_KEY) != "ok":
            headers.setdefault("cache-control", NOT_STORED)
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = entity_tag(body)
        headers["cache-control"] = self.cache_control
        headers["etag"] = etag
        if self.vary:
            headers.add_vary_header(self.vary)
        if_none_match = Headers(scope=scope).get("if-none-match")
        matched = etag_matches(if_none_match, etag)
        if if_none_match and self.observer is not None:
            self.observer.cache_lookup("http", "hit" if matched else "miss")
        if matched:
            for name in ("content-length", "content-type"):
                del headers[name]
            await send({**start, "status": 304})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(start)
        await send({"type": "http.response.body", "body": body})


def _not_stored(send: Send) -> Send:
    async def mark(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).setdefault("cache-control", NOT_STORED)
        await send(message)

    return mark


def entity_tag(body: bytes) -> str:
    """A strong ETag for `body`: equal bodies, equal tags."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (weak comparison, as RFC 9110 says)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))
