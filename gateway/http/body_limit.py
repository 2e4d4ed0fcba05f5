"""A ceiling on the size of request bodies, counted as they arrive."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.errors import request_error_response
from gateway.settings import DEFAULT_MAX_BODY_BYTES


class BodyTooLarge(Exception):
    """Raised into the app reading a body once it passes the limit."""


class BodyLimitMiddleware:
    """Answers 413 to an HTTP request whose body is larger than `max_bytes`.

    A declared `Content-Length` over the limit is refused before any byte is read; a body
    without one (chunked) is counted while the app reads it and refused as soon as it passes
    the limit, so a large body is never held in memory whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not (declared.isascii() and declared.strip().isdigit()):
                response = request_error_response(
                    400, f"Content-Length {declared[:40]!r} is not a number of bytes."
                )
                await response(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return

        received = 0
        response_started = False

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def send_watched(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_counted, send_watched)
        except BodyTooLarge:
            if response_started:  # too late to answer 413: the connection is dropped
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = request_error_response(
            413, f"The request body is larger than the limit of {self.max_bytes:,} bytes."
        )
        await response(scope, receive, send)
