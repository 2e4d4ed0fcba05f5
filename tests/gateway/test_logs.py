"""JSON log lines: one object per line, the request summed up, nothing secret or personal."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.http.request_id import RequestIdLogFilter
from gateway.logs import build_log_config
from tests.gateway.conftest import OpenGateway

QUERY = """query ForYou { recommendations(userId: "u-01", numResults: 3) {
  items { itemId } } }"""
FOR_USER = """query ForYou($userId: ID!) { recommendations(userId: $userId, numResults: 3) {
  items { itemId } } }"""
SECRET = "Bearer do-not-log-me-0123456789"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the gateway logs meanwhile, formatted as GATEWAY_LOG_FORMAT=json formats it."""
    config = build_log_config("info", "json")
    formatter = logging.config.dictConfigClass(config).configure_formatter(
        config["formatters"]["json"]
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdLogFilter())
    logger = logging.getLogger("gateway")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def request_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line["logger"] == "gateway.requests"]


async def test_logs_json_line_sums_up_the_request(
    open_gateway: OpenGateway, json_lines: io.StringIO
) -> None:
    async with open_gateway(log_format="json") as gateway:
        await gateway.client.post(
            "/graphql",
            json={"query": QUERY},
            headers={"Authorization": SECRET, "X-Request-Id": "req-1"},
        )

    [line] = request_lines(json_lines)
    summary = {key: line.get(key) for key in ("request_id", "operation", "outcome", "status")}
    assert summary == {"request_id": "req-1", "operation": "ForYou", "outcome": "ok", "status": 200}
    assert line["upstream_calls"] == 1, line
    assert isinstance(line["duration_ms"], float), line


async def test_logs_hold_no_authorization_value(
    open_gateway: OpenGateway, json_lines: io.StringIO
) -> None:
    async with open_gateway(log_format="json") as gateway:
        await gateway.client.post(
            "/graphql", json={"query": QUERY}, headers={"Authorization": SECRET}
        )

    assert "do-not-log-me" not in json_lines.getvalue()


@pytest.mark.parametrize(("log_user_ids", "expected"), [(False, None), (True, "u-01")])
async def test_logs_user_ids_only_when_asked(
    open_gateway: OpenGateway, json_lines: io.StringIO, log_user_ids: bool, expected: str | None
) -> None:
    async with open_gateway(log_format="json", log_user_ids=log_user_ids) as gateway:
        await gateway.client.post(
            "/graphql", json={"query": FOR_USER, "variables": {"userId": "u-01"}}
        )

    [line] = request_lines(json_lines)
    assert line.get("user_id") == expected, line
    assert ("u-01" in json_lines.getvalue()) == log_user_ids
