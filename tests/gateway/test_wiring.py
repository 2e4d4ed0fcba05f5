from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.catalog.load import load_catalog
from gateway.settings import Settings
from gateway.wiring import LOCAL_CREDENTIALS, open_resources

ANSWER = json.dumps({"itemList": [{"itemId": "i1", "score": 0.5}], "recommendationId": "r"})


@pytest.fixture
async def personalize() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A loopback stand-in for personalize-runtime that keeps each request's headers."""
    seen: list[dict[str, str]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")[1:]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines) if k
        }
        seen.append(headers)
        await reader.readexactly(int(headers.get("content-length", "0")))
        body = ANSWER.encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", seen


def settings_on(endpoint: str, directory: Path) -> Settings:
    """Settings for a gateway calling `endpoint`, with a one-item catalog in `directory`."""
    (directory / "items.csv").write_text("ITEM_ID,TITLE\ni1,One\n")
    load_catalog(directory / "items.csv", directory / "catalog.db")
    return Settings(
        catalog_path=directory / "catalog.db",
        recommendations_arn="arn:aws:personalize:us-east-1:000000000000:campaign/c",
        personalize_endpoint_url=endpoint,
    )


async def test_personalize_runtime_calls_carry_the_gateway_user_agent(
    personalize: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    endpoint, seen = personalize
    settings = settings_on(endpoint, tmp_path)
    async with open_resources(settings, credentials=LOCAL_CREDENTIALS) as resources:
        await resources["recommender"].recommend(
            user_id="u1", num_results=1, filter=None, personalize_context={}, promotion=None
        )
    agents = [headers.get("user-agent", "") for headers in seen]
    assert [agent.split(" ")[0].split("/")[0] for agent in agents] == ["personalize-gateway"], (
        agents
    )


async def test_personalize_runtime_leaves_input_checks_to_the_schema(
    personalize: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    endpoint, seen = personalize
    settings = settings_on(endpoint, tmp_path)
    async with open_resources(settings, credentials=LOCAL_CREDENTIALS) as resources:
        # A string for an integer: botocore's validation would refuse it before sending;
        # without it the request reaches Personalize, which judges it.
        await resources["personalize_runtime"].get_recommendations(
            campaignArn=settings.recommendations_arn, userId="u1", numResults="25"
        )
    assert len(seen) == 1, seen
