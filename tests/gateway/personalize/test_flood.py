"""One client flooding the gateway while Personalize is slow: the others keep their deadline and
the breaker stays closed. Real aiobotocore calls to the local Personalize over loopback."""

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from emulator import LocalPersonalize
from tests.gateway.conftest import Gateway, OpenGateway

DEADLINE_S = 0.5
FALLBACK_DEADLINE_S = 0.5
# Scheduling on a shared machine; a request that queued for Personalize without a deadline
# would take the whole injected latency (2 s) or more.
MARGIN_S = 1.0
LONGEST_S = DEADLINE_S + FALLBACK_DEADLINE_S + MARGIN_S
POPULAR = ("i-060", "i-059", "i-058", "i-057", "i-056")
FLOOD_ALIASES = 5
FLOOD_REQUESTS = 30


def flood_query(request: int) -> str:
    """One request of the flood: aliases asking for different sizes, so no call is shared."""
    fields = " ".join(
        f'a{alias}: recommendations(userId: "u-01", numResults: '
        f"{request * FLOOD_ALIASES + alias + 1}) {{ source }}"
        for alias in range(FLOOD_ALIASES)
    )
    return "{ " + fields + " }"


async def timed(gateway: Gateway, query: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    result: dict[str, Any] = await gateway.query(query)
    return time.monotonic() - started, result


def sources(result: dict[str, Any]) -> set[str]:
    return {answer["source"] for answer in result["data"].values()}


@pytest.fixture
def popular_file(tmp_path: Path) -> Path:
    path = tmp_path / "popular.txt"
    path.write_text("\n".join(POPULAR) + "\n")
    return path


@pytest.fixture
def flood_settings(popular_file: Path) -> dict[str, Any]:
    return {
        "upstream_deadline": DEADLINE_S,
        "fallback_deadline": FALLBACK_DEADLINE_S,
        "fallback_items_file": popular_file,
        "breaker_failure_threshold": 3,
        "max_pool_connections": 4,
    }


async def test_flood_by_one_user_leaves_another_users_request_in_time_and_breaker_closed(
    open_gateway: OpenGateway, personalize: LocalPersonalize, flood_settings: dict[str, Any]
) -> None:
    personalize.faults.latency_ms = 2000.0  # beyond the deadline
    other = '{ recommendations(userId: "u-02", numResults: 5) { source } }'
    async with open_gateway(**flood_settings) as gateway:
        first = [timed(gateway, flood_query(request)) for request in range(FLOOD_REQUESTS)]
        flooded = await asyncio.gather(*first)
        second = [timed(gateway, flood_query(request)) for request in range(FLOOD_REQUESTS)]
        *flooded_again, (other_took, other_result) = await asyncio.gather(
            *second, timed(gateway, other)
        )
        readiness = (await gateway.client.get("/readyz")).json()

    longest_flood = max(took for took, _ in flooded + flooded_again)
    assert other_took < LONGEST_S, other_took
    assert sources(other_result) == {"FALLBACK"}, other_result
    assert readiness["details"]["breaker"] == "closed", readiness["details"]
    assert readiness["details"]["consecutive_failures"] > 3, readiness["details"]
    assert longest_flood < LONGEST_S, longest_flood


async def test_calls_that_waited_for_a_connection_do_not_open_the_breaker(
    open_gateway: OpenGateway, personalize: LocalPersonalize, flood_settings: dict[str, Any]
) -> None:
    # Personalize answers in time, but 4 connections cannot carry 30 users' calls at once.
    personalize.faults.latency_ms = 150.0
    queries = [
        f'{{ recommendations(userId: "u-{user:02d}", numResults: 5) {{ source }} }}'
        for user in range(1, 31)
    ]
    async with open_gateway(**flood_settings) as gateway:
        answered = await asyncio.gather(*(timed(gateway, query) for query in queries))
        readiness = (await gateway.client.get("/readyz")).json()

    seen = set().union(*(sources(result) for _, result in answered))
    longest = max(took for took, _ in answered)
    assert seen == {"PERSONALIZE", "FALLBACK"}, seen
    assert readiness["details"]["breaker"] == "closed", readiness["details"]
    assert longest < LONGEST_S, longest
