"""Traces of one query, captured with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.http.app import GatewayState, create_app
from gateway.settings import Settings
from gateway.tracing import build_tracing
from gateway.wiring import LOCAL_CREDENTIALS
from tests.gateway.conftest import with_state

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
QUERY = """query ForYou { recommendations(userId: "u-01", numResults: 5) {
  items { itemId item { title } } } }"""


@pytest.fixture
async def spans(settings: Settings) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    tracing = build_tracing(
        service_name="test", sampling_ratio=1.0, endpoint=None, exporter=exporter
    )
    app = create_app(settings, credentials=LOCAL_CREDENTIALS, tracing=tracing)
    async with app.router.lifespan_context(app) as opened:
        transport = httpx.ASGITransport(app=with_state(app, cast(GatewayState, opened)))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            response = await client.post(
                "/graphql", json={"query": QUERY}, headers={"traceparent": TRACEPARENT}
            )
            assert response.status_code == 200, response.text
    return list(exporter.get_finished_spans())


def _by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def test_tracing_spans_form_one_tree(spans: list[ReadableSpan]) -> None:
    found = _by_name(spans)
    parents = {
        span.name: found_parent.name
        for span in spans
        for found_parent in spans
        if span.parent is not None and span.parent.span_id == found_parent.context.span_id
    }

    assert parents == {
        "query ForYou": "POST /graphql",
        "Personalize.GetRecommendations": "query ForYou",
        "catalog.sqlite": "query ForYou",
    }, parents
    assert sorted(found) == [
        "POST /graphql",
        "Personalize.GetRecommendations",
        "catalog.sqlite",
        "query ForYou",
    ]


def test_tracing_continues_the_clients_trace(spans: list[ReadableSpan]) -> None:
    trace_ids = {format(span.context.trace_id, "032x") for span in spans}

    assert trace_ids == {TRACE_ID}, trace_ids


@pytest.mark.parametrize(
    ("span_name", "expected"),
    [
        (
            "Personalize.GetRecommendations",
            {
                "rpc.method": "GetRecommendations",
                "personalize.arn_kind": "campaign",
                "personalize.num_results": 5,
                "personalize.outcome": "ok",
                "personalize.retries": 0,
            },
        ),
        ("catalog.sqlite", {"catalog.source": "sqlite", "catalog.ids": 5, "catalog.found": 5}),
        ("query ForYou", {"graphql.operation.name": "ForYou", "graphql.operation.type": "query"}),
        ("POST /graphql", {"http.request.method": "POST", "http.response.status_code": 200}),
    ],
)
def test_tracing_span_attributes(
    spans: list[ReadableSpan], span_name: str, expected: dict[str, Any]
) -> None:
    attributes = dict(_by_name(spans)[span_name].attributes or {})

    assert {key: attributes.get(key) for key in expected} == expected, attributes
