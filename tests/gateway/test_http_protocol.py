"""The server's HTTP protocol: header limits and the request read timeout, over loopback, with
uvicorn serving a small app in this event loop."""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.types import Receive, Scope, Send

from gateway.http_protocol import RequestLimits, ServerConfig

MAX_HEADER_BYTES = 4096
MAX_FIELD_BYTES = 1024
READ_TIMEOUT_S = 0.3
LIMITS = RequestLimits(
    max_header_bytes=MAX_HEADER_BYTES,
    max_header_field_bytes=MAX_FIELD_BYTES,
    read_timeout=READ_TIMEOUT_S,
)
LENGTH = re.compile(rb"content-length: (\d+)", re.IGNORECASE)
WAIT_S = 5.0  # bounds every read: far beyond the read timeout


async def echo_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the length of the body it read."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class QuietConfig(ServerConfig):
    def configure_logging(self) -> None:
        pass  # uvicorn's setup changes process-wide loggers other tests rely on


@asynccontextmanager
async def serving(limits: RequestLimits = LIMITS) -> AsyncIterator[int]:
    """The app served by the guarded protocol on a free loopback port; the port."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = QuietConfig(echo_length, limits=limits, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(WAIT_S):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
                await asyncio.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


async def exchange(port: int, request: bytes) -> bytes:
    """Send `request` whole; everything the server sends until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await read_answer(reader)
    finally:
        writer.close()


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    received = b""
    try:
        async with asyncio.timeout(WAIT_S):
            while chunk := await reader.read(65536):
                received += chunk
                head, found, body = received.partition(b"\r\n\r\n")
                if found and len(body) >= int(LENGTH.search(head).group(1)):  # type: ignore[union-attr]
                    break
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def request_with_headers(*headers: bytes, body: bytes = b"") -> bytes:
    lines = [b"POST / HTTP/1.1", b"host: gateway", *headers]
    lines.append(b"content-length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def status_of(answer: bytes) -> str:
    return answer.split(b"\r\n", 1)[0].decode("latin-1")


def headers_of_total(size: int) -> list[bytes]:
    """Header lines (each under the per-header limit) whose request, with host and
    content-length, has about `size` bytes of headers."""
    lines = []
    for index in range(size // 512):
        lines.append(b"x-filler-%03d: " % index + b"a" * (512 - 19))
    return lines


async def test_headers_just_under_the_limit_are_served() -> None:
    async with serving() as port:
        answer = await exchange(port, request_with_headers(*headers_of_total(3584)))

    assert status_of(answer) == "HTTP/1.1 200 OK", answer[:200]


async def test_headers_just_over_the_total_limit_get_431() -> None:
    async with serving() as port:
        answer = await exchange(port, request_with_headers(*headers_of_total(4608)))

    assert status_of(answer) == "HTTP/1.1 431 Request Header Fields Too Large", answer[:200]
    assert b'"code":"BAD_REQUEST"' in answer, answer


async def test_one_header_just_over_its_limit_gets_431() -> None:
    header = b"x-big: " + b"a" * (MAX_FIELD_BYTES - len("x-big") + 1)
    async with serving() as port:
        answer = await exchange(port, request_with_headers(header))

    assert status_of(answer) == "HTTP/1.1 431 Request Header Fields Too Large", answer[:200]
    assert b"'x-big' header is 1025 bytes; at most 1024" in answer, answer


async def test_one_header_at_its_limit_is_served() -> None:
    header = b"x-big: " + b"a" * (MAX_FIELD_BYTES - len("x-big"))
    async with serving() as port:
        answer = await exchange(port, request_with_headers(header))

    assert status_of(answer) == "HTTP/1.1 200 OK", answer[:200]


async def test_a_body_larger_than_the_header_limit_in_the_same_packet_is_served() -> None:
    body = b"b" * (MAX_HEADER_BYTES * 4)
    async with serving() as port:
        answer = await exchange(port, request_with_headers(body=body))

    assert status_of(answer) == "HTTP/1.1 200 OK", answer[:200]
    assert answer.endswith(str(len(body)).encode()), answer[-40:]


async def test_an_endless_header_is_cut_off_at_the_limit() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nx-endless: ")
        sent, cut_off = 0, False
        try:
            async with asyncio.timeout(WAIT_S):
                while sent < 64 * 1024 * 1024:
                    writer.write(b"a" * 65536)
                    await writer.drain()
                    sent += 65536
        except ConnectionError:
            cut_off = True
        answer = await read_answer(reader)
        writer.close()

    assert cut_off is True, sent
    assert status_of(answer) in ("HTTP/1.1 431 Request Header Fields Too Large", ""), answer[:200]


async def test_headers_arriving_too_slowly_get_408() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nhost: gate")
        answer = await read_answer(reader)
        writer.close()

    assert status_of(answer) == "HTTP/1.1 408 Request Timeout", answer[:200]


async def test_a_connection_that_sends_nothing_is_closed() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(WAIT_S):
            answer = await reader.read()
        writer.close()

    assert answer == b"", answer


async def test_a_body_arriving_too_slowly_is_cut_off() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request_with_headers(body=b"x" * 100)[:-99])
        async with asyncio.timeout(WAIT_S):
            answer = await reader.read()
        writer.close()

    assert answer == b"", answer


async def test_keep_alive_requests_each_get_the_whole_read_timeout() -> None:
    async with serving() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answers = []
        for _ in range(3):
            await asyncio.sleep(READ_TIMEOUT_S * 0.6)  # more than the timeout in all
            writer.write(request_with_headers(body=b"abc"))
            answers.append(status_of(await read_answer(reader)))
        writer.close()

    assert answers == ["HTTP/1.1 200 OK"] * 3, answers
