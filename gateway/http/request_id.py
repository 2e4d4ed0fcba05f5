"""A request id for every HTTP request: taken from `X-Request-Id` or made, echoed, and logged."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.observations import current_record

REQUEST_ID_HEADER = "X-Request-Id"
NO_REQUEST_ID = "-"
# An id from outside goes into log lines: only a plain token is accepted, anything else is replaced.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_current: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST_ID)


def current_request_id() -> str:
    """The id of the request being served, or "-" outside a request."""
    return _current.get()


class RequestIdMiddleware:
    """Gives each HTTP request an id, available to logs through `current_request_id()`.

    A client's own `X-Request-Id` is kept when it is a plain token of at most 128 characters
    (so a trace can follow one id across services); otherwise a new one is generated. The
    response always carries the id back.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get(REQUEST_ID_HEADER)
        request_id = incoming if incoming and _ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record, for a `%(request_id)s` in the log format, and
    the trace id when the request is traced."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        observed = current_record.get()
        if observed is not None and observed.trace_id is not None:
            record.trace_id = observed.trace_id
        return True
