"""Many clients at once through uvicorn on loopback while Personalize misbehaves.

Every request must get a well-formed GraphQL answer (data, or errors with known codes), never
an HTTP error, and the fallback must keep lists coming. Bounded: 40 clients x 15 requests.
The clients use aiohttp (aiobotocore's own HTTP library): httpx's pool costs more CPU than
the gateway under test at this concurrency.
"""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import uvicorn

from emulator import LocalPersonalize
from gateway.http.app import create_app
from gateway.settings import Settings
from gateway.wiring import LOCAL_CREDENTIALS

CLIENTS = 40
REQUESTS_PER_CLIENT = 15
TIME_LIMIT_S = 30
STARTUP_TIMEOUT_S = 10
FAULTS = {"latency_ms": 5.0, "jitter_ms": 600.0, "throttle_rate": 0.15, "error_rate": 0.15}
QUERIES = (
    '{ recommendations(userId: "u-%02d", numResults: 9) { source items { item { title } } } }',
    '{ relatedItems(itemId: "i-%03d", numResults: 5) { source items { itemId } } }',
    '{ ranking(userId: "u-01", items: ["i-%03d", "i-002", "i-003"]) { source items { itemId } } }',
    '{ item(id: "i-%03d") { title } }',
    '{ recommendations(userId: "u-%02d", numResults: 501) { source } }',  # over the limit
)
LIST_FIELDS = ("recommendations", "relatedItems", "ranking")


class QuietConfig(uvicorn.Config):
    def configure_logging(self) -> None:
        pass  # uvicorn's setup changes process-wide loggers other tests rely on


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The gateway under uvicorn on a free loopback port, in this event loop; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, credentials=LOCAL_CREDENTIALS)
    config = QuietConfig(app, access_log=False, timeout_graceful_shutdown=settings.shutdown_timeout)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Tally:
    """What came back: problems with well-formedness, error codes and list sources seen."""

    answers: int = 0
    problems: list[str] = field(default_factory=list)
    codes: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    def add(self, status: int, text: str) -> None:
        self.answers += 1
        if status != 200:
            self.problems.append(f"HTTP {status}: {text[:200]}")
            return
        try:
            body = json.loads(text)
        except ValueError:
            self.problems.append(f"not JSON: {text[:200]}")
            return
        if not isinstance(body, dict) or not ({"data", "errors"} & set(body)):
            self.problems.append(f"neither data nor errors: {text[:200]}")
            return
        for error in body.get("errors") or ():
            self.codes.add(str((error.get("extensions") or {}).get("code")))
            if "Traceback" in error.get("message", ""):
                self.problems.append(f"a traceback reached the client: {error}")
        for name in LIST_FIELDS:
            answer = (body.get("data") or {}).get(name)
            if answer is not None:
                self.sources.add(answer["source"])


async def run_client(http: aiohttp.ClientSession, number: int) -> list[tuple[int, str]]:
    """One client's requests, one after the other."""
    answers = []
    for request in range(REQUESTS_PER_CLIENT):
        query = QUERIES[(number + request) % len(QUERIES)] % (1 + (number + request) % 30)
        async with http.post("/graphql", json={"query": query}) as response:
            answers.append((response.status, await response.text()))
    return answers


async def test_load_with_faults_every_request_gets_a_well_formed_answer(
    settings: Settings, personalize: LocalPersonalize, tmp_path: Path
) -> None:
    popular = tmp_path / "popular.txt"
    popular.write_text("\n".join(f"i-{index:03d}" for index in range(60, 30, -1)))
    loaded = Settings(
        **settings.model_dump()
        | {
            "upstream_deadline": 0.5,
            "fallback_items_file": popular,
            "breaker_failure_threshold": 5,
            "breaker_cool_down": 0.2,
        }
    )
    personalize.faults.update(FAULTS)
    async with (
        serve(loaded) as base_url,
        aiohttp.ClientSession(base_url, connector=aiohttp.TCPConnector(limit=CLIENTS)) as http,
        asyncio.timeout(TIME_LIMIT_S),
    ):
        batches = await asyncio.gather(*(run_client(http, number) for number in range(CLIENTS)))
    tally = Tally()
    for status, text in (answer for batch in batches for answer in batch):
        tally.add(status, text)

    # Lists always have a stand-in (the items file, a ranking's own order): the only error
    # left is the deliberate one, numResults over its limit. How many lists Personalize itself
    # answers depends on the machine's load (a busy event loop misses deadlines too).
    assert (
        tally.answers,
        tally.problems,
        tally.codes,
        "FALLBACK" in tally.sources,
        tally.sources - {"PERSONALIZE", "FALLBACK"},
    ) == (CLIENTS * REQUESTS_PER_CLIENT, [], {"BAD_USER_INPUT"}, True, set())
