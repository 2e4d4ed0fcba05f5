"""Request bodies: up to the limit they pass, one byte over they get a 413 and are not read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from gateway.http.body_limit import BodyLimitMiddleware
from tests.gateway.conftest import OpenGateway

LIMIT = 100


class BodyReader:
    """An app that reads the whole body and says how long it was; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = await Request(scope, receive).body()
        await JSONResponse({"length": len(body)})(scope, receive, send)


async def send_body(app: BodyReader, content: bytes | AsyncIterator[bytes]) -> httpx.Response:
    transport = httpx.ASGITransport(app=BodyLimitMiddleware(app, max_bytes=LIMIT))
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.post("/graphql", content=content)


async def chunks(total: int, size: int = 30) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


async def test_body_at_the_limit_is_read() -> None:
    response = await send_body(BodyReader(), b"x" * LIMIT)

    assert (response.status_code, response.json()) == (200, {"length": LIMIT})


async def test_body_over_the_limit_is_refused_before_the_app_runs() -> None:
    app = BodyReader()

    response = await send_body(app, b"x" * (LIMIT + 1))

    assert (response.status_code, response.json(), app.calls) == (
        413,
        {
            "errors": [
                {
                    "message": "The request body is larger than the limit of 100 bytes.",
                    "extensions": {"code": "BAD_REQUEST"},
                }
            ]
        },
        0,
    )


async def test_chunked_body_at_the_limit_is_read() -> None:
    response = await send_body(BodyReader(), chunks(LIMIT))

    assert (response.status_code, response.json()) == (200, {"length": LIMIT})


async def test_chunked_body_over_the_limit_is_refused_while_it_arrives() -> None:
    response = await send_body(BodyReader(), chunks(LIMIT + 1))

    assert (response.status_code, response.json()["errors"][0]["extensions"]["code"]) == (
        413,
        "BAD_REQUEST",
    )


async def test_body_with_an_unreadable_length_is_a_400() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-length", b"12abc")],
    }
    await BodyLimitMiddleware(BodyReader(), max_bytes=LIMIT)(scope, receive, send)

    assert (sent[0]["status"], json.loads(sent[1]["body"])["errors"][0]["message"]) == (
        400,
        "Content-Length '12abc' is not a number of bytes.",
    )


def padded_query(size: int) -> bytes:
    """A GraphQL request of exactly `size` bytes (spaces inside the query pad it)."""
    start, end = b'{"query": "{ item(id: \\"i-001\\") { id } ', b'}"}'
    return start + b" " * (size - len(start) - len(end)) + end


async def test_app_body_at_the_limit_is_answered(open_gateway: OpenGateway) -> None:
    async with open_gateway(max_body_bytes=1024) as gateway:
        response = await gateway.client.post(
            "/graphql", content=padded_query(1024), headers={"Content-Type": "application/json"}
        )

    assert (response.status_code, response.json()) == (200, {"data": {"item": {"id": "i-001"}}})


async def test_app_body_over_the_limit_is_a_413(open_gateway: OpenGateway) -> None:
    async with open_gateway(max_body_bytes=1024) as gateway:
        response = await gateway.client.post(
            "/graphql", content=padded_query(1025), headers={"Content-Type": "application/json"}
        )

    assert (response.status_code, response.json()["errors"][0]["message"]) == (
        413,
        "The request body is larger than the limit of 1,024 bytes.",
    )
