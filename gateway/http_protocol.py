"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol with bounded request
headers and a time limit for reading each request.

httptools (uvicorn's fastest parser, and its default) keeps a header in memory until it ends,
however long, and uvicorn waits for a slow client as long as it keeps the connection open. Here
the headers of a request (request line included) may take at most `max_header_bytes`, one
header at most `max_header_field_bytes` (else 431), and a request must arrive whole, headers
and body, within `read_timeout` seconds of its first byte, or of the connection's opening
(else 408 while the headers are still coming, or the connection is closed).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
from dataclasses import dataclass
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from gateway.settings import Settings

logger = logging.getLogger(__name__)

# What a line of the header block adds to the header names and values: ": " and CRLF.
_HEADER_LINE_OVERHEAD = 4


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """How large a request's headers may be, and how long a request may take to arrive."""

    max_header_bytes: int
    max_header_field_bytes: int
    read_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> RequestLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_header_field_bytes=settings.max_header_field_bytes,
            read_timeout=settings.request_read_timeout,
        )


@functools.cache
def limits_from_environment() -> RequestLimits:
    """The limits the `GATEWAY_*` variables set, read once per process."""
    return RequestLimits.from_settings(Settings.for_deployment())


class ServerConfig(uvicorn.Config):
    """uvicorn's Config serving with GuardedHttpToolsProtocol and these `limits`.

    Worker processes get a pickled copy, limits included.
    """

    def __init__(self, app: Any, *, limits: RequestLimits, **options: Any) -> None:
        super().__init__(app, http=GuardedHttpToolsProtocol, **options)
        self.request_limits = limits


class _Phase(enum.Enum):
    WAITING = "waiting"  # for a request's first byte
    HEADERS = "headers"  # the request line and headers are coming
    BODY = "body"  # the headers are in; the body is coming


class _Refusal(Exception):
    """Raised in a parser callback to stop parsing a request that will be refused."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the limits of a ServerConfig or, under uvicorn's
    own command line (`--http gateway.http_protocol:GuardedHttpToolsProtocol`), of the
    environment."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limits = getattr(config, "request_limits", None)
        self.limits: RequestLimits = limits if limits is not None else limits_from_environment()
        self._phase = _Phase.WAITING
        self._unparsed_header_bytes = 0  # received while the headers are incomplete
        self._header_bytes = 0  # request line and header lines parsed so far
        self._read_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_timer()  # a connection that never sends a request is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return
        if self._phase is not _Phase.BODY:
            self._unparsed_header_bytes += len(data)
        super().data_received(data)
        # httptools holds an unfinished header whole: stop it growing past the limit.
        if (
            self._refusal is None
            and self._phase is not _Phase.BODY
            and self._unparsed_header_bytes > self.limits.max_header_bytes
        ):
            self._refuse(431, self._headers_too_large())

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = _Phase.HEADERS
        self._header_bytes = 0
        if self._read_timer is None:
            self._arm_read_timer()

    def on_url(self, url: bytes) -> None:
        self._header_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name) + len(value)
        if size > self.limits.max_header_field_bytes:
            raise self._refusing(
                431,
                f"The {name[:64].decode('latin-1')!r} header is {size} bytes; at most "
                f"{self.limits.max_header_field_bytes} are accepted.",
            )
        self._header_bytes += size + _HEADER_LINE_OVERHEAD
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._header_bytes > self.limits.max_header_bytes:
            raise self._refusing(431, self._headers_too_large())
        self._phase = _Phase.BODY
        self._unparsed_header_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._phase = _Phase.WAITING
        self._cancel_read_timer()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every parser error so, a callback's refusal included.
        if self._refusal is None:
            super().send_400_response(msg)
        else:
            self._send_refusal(*self._refusal)

    def _headers_too_large(self) -> str:
        return (
            f"The request line and headers are over {self.limits.max_header_bytes} bytes, "
            "the most accepted."
        )

    def _refusing(self, status: int, message: str) -> _Refusal:
        self._refusal = (status, message)
        return _Refusal(message)

    def _refuse(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        self._send_refusal(status, message)

    def _send_refusal(self, status: int, message: str) -> None:
        self._cancel_read_timer()
        logger.info("Request from %s refused (%d): %s", _peer(self.client), status, message)
        body = orjson.dumps(
            {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
        )
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()

    def _arm_read_timer(self) -> None:
        self._cancel_read_timer()
        self._read_timer = self.loop.call_later(self.limits.read_timeout, self._read_timed_out)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        if self._phase is _Phase.HEADERS:
            self._refuse(
                408,
                f"The request did not arrive within {self.limits.read_timeout:g} s.",
            )
            return
        # Before any request there is nothing to answer; during the body the app has it.
        logger.debug("Connection from %s closed: %s", _peer(self.client), self._phase.value)
        self.transport.close()


_REASONS = {408: "Request Timeout", 431: "Request Header Fields Too Large"}


def _peer(client: tuple[str, int] | None) -> str:
    return "-" if client is None else f"{client[0]}:{client[1]}"
