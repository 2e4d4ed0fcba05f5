"""/metrics scraped after a known sequence of requests, in one process and across two."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from emulator import LocalPersonalize
from gateway.events.buffer import EventBuffer
from gateway.metrics import METRIC_NAMES, OperationNames
from tests.gateway.conftest import OpenGateway, Store, settings_for
from tests.servers import free_port

FOR_YOU = """query ForYou { recommendations(userId: "u-01", numResults: 5) {
  items { itemId item { title } } } }"""
RELATED = """query Related { relatedItems(itemId: "i-001", numResults: 5) {
  items { itemId item { title } } } }"""
TOKEN = "scrape-token-0123456789"


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with `labels` in a scrape; 0 when absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return 0.0


@pytest.fixture
def catalog_copy(store: Store, tmp_path: Path) -> Path:
    """A catalog of the test's own, which the test may break."""
    path = tmp_path / "catalog.db"
    shutil.copyfile(store.catalog_path, path)
    return path


async def test_metrics_count_a_known_sequence_exactly(
    open_gateway: OpenGateway, personalize: LocalPersonalize, catalog_copy: Path
) -> None:
    async with open_gateway(metrics=True, catalog_path=catalog_copy) as gateway:
        first = await gateway.client.get("/graphql", params={"query": FOR_YOU})
        await gateway.client.post("/graphql", json={"query": RELATED})
        revalidated = await gateway.client.get(
            "/graphql", params={"query": FOR_YOU}, headers={"If-None-Match": first.headers["etag"]}
        )
        personalize.faults.error_rate = 1.0
        await gateway.client.post("/graphql", json={"query": FOR_YOU})  # the stale answer
        personalize.faults.error_rate = 0.0
        os.truncate(catalog_copy, 0)  # the catalog file is gone from under the gateway
        await gateway.client.post("/graphql", json={"query": RELATED})
        scrape = (await gateway.client.get("/metrics")).text

    assert revalidated.status_code == 304, revalidated.status_code
    counts = {
        "ForYou ok": sample(scrape, "gateway_graphql_requests_total", operation="ForYou"),
        "Related ok": sample(
            scrape, "gateway_graphql_requests_total", operation="Related", outcome="ok"
        ),
        "Related partial": sample(
            scrape, "gateway_graphql_requests_total", operation="Related", outcome="partial"
        ),
        "Personalize ok": sample(
            scrape, "gateway_personalize_calls_total", api="GetRecommendations", outcome="ok"
        ),
        "Personalize unavailable": sample(
            scrape,
            "gateway_personalize_calls_total",
            api="GetRecommendations",
            outcome="unavailable",
        ),
        "fallback stale": sample(
            scrape, "gateway_fallback_answers_total", field="recommendations", source="stale"
        ),
        "http cache hit": sample(scrape, "gateway_cache_lookups_total", cache="http", result="hit"),
        "stale hit": sample(scrape, "gateway_cache_lookups_total", cache="stale", result="hit"),
        "catalog ok": sample(
            scrape, "gateway_catalog_batches_total", source="sqlite", outcome="ok"
        ),
        "catalog failed": sample(
            scrape, "gateway_catalog_batches_total", source="sqlite", outcome="failed"
        ),
        "durations": sample(
            scrape, "gateway_graphql_request_duration_seconds_count", operation="ForYou"
        ),
    }
    assert counts == {
        "ForYou ok": 3.0,  # the first, the revalidated (304) and the one the fallback answered
        "Related ok": 1.0,
        "Related partial": 1.0,  # recommendations with `item: null` and the catalog's error
        "Personalize ok": 4.0,
        "Personalize unavailable": 1.0,
        "fallback stale": 1.0,
        "http cache hit": 1.0,
        "stale hit": 1.0,
        "catalog ok": 4.0,
        "catalog failed": 1.0,
        "durations": 3.0,
    }, counts


async def test_metrics_count_events_delivered(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    mutation = """mutation { recordEvents(input: {sessionId: "s-1", userId: "u-01",
      events: [{eventType: "view", itemId: "i-001"}, {eventType: "view", itemId: "i-002"}]})
      { accepted } }"""
    tracker = personalize.config.tracking_ids[0]
    async with open_gateway(metrics=True, event_tracking_id=tracker) as gateway:
        await gateway.query(mutation)
        scrape = (await gateway.client.get("/metrics")).text

    delivered = sample(scrape, "gateway_events_total", outcome="delivered")
    assert delivered == 2.0, delivered


async def test_metrics_show_events_accepted_and_waiting_in_the_buffer(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    mutation = """mutation { recordEvents(input: {sessionId: "s-2", userId: "u-02",
      events: [{eventType: "view", itemId: "i-001"}, {eventType: "view", itemId: "i-002"},
               {eventType: "view", itemId: "i-003"}]}) { accepted } }"""
    tracker = personalize.config.tracking_ids[0]
    async with open_gateway(
        metrics=True,
        event_tracking_id=tracker,
        events_delivery="buffered",
        events_flush_interval=60,
    ) as gateway:
        await gateway.query(mutation)
        waiting = (await gateway.client.get("/metrics")).text
        buffer = gateway.state["events"]
        assert isinstance(buffer, EventBuffer), buffer
        await buffer.close()  # delivers the waiting events, as at shutdown
        delivered = (await gateway.client.get("/metrics")).text

    accepted = sample(waiting, "gateway_events_total", outcome="accepted")
    assert accepted == 3.0, accepted
    buffered = sample(waiting, "gateway_events_buffered")
    assert buffered == 3.0, buffered
    after = sample(delivered, "gateway_events_buffered")
    assert after == 0.0, after
    sent = sample(delivered, "gateway_events_total", outcome="delivered")
    assert sent == 3.0, sent


async def test_metrics_count_response_cache_hits_and_misses(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    async with open_gateway(metrics=True, response_cache_ttl=60) as gateway:
        await gateway.query(FOR_YOU)
        await gateway.query(FOR_YOU)
        scrape = (await gateway.client.get("/metrics")).text

    hits = sample(scrape, "gateway_cache_lookups_total", cache="response", result="hit")
    misses = sample(scrape, "gateway_cache_lookups_total", cache="response", result="miss")
    calls = sample(
        scrape, "gateway_personalize_calls_total", api="GetRecommendations", outcome="ok"
    )
    assert hits == 1.0, hits
    assert misses == 1.0, misses
    assert calls == 1.0, calls


async def test_metrics_route_is_absent_unless_enabled(open_gateway: OpenGateway) -> None:
    async with open_gateway() as gateway:
        response = await gateway.client.get("/metrics")

    assert response.status_code == 404, response.status_code


async def test_metrics_refuse_a_scrape_without_the_token(open_gateway: OpenGateway) -> None:
    async with open_gateway(metrics=True, metrics_token=TOKEN) as gateway:
        refused = await gateway.client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        allowed = await gateway.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert refused.status_code == 401, refused.status_code
    assert allowed.status_code == 200, allowed.status_code


def test_metrics_dashboard_names_only_exported_metrics() -> None:
    import json
    import re

    path = Path(__file__).parents[2] / "deploy" / "grafana-dashboard.json"
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    named = {name for expr in expressions for name in re.findall(r"\bgateway_\w+", expr)}
    suffixes = ("_total", "_bucket", "_count", "_sum")
    exported = set(METRIC_NAMES) | {name + suffix for name in METRIC_NAMES for suffix in suffixes}

    shown = {name for name in METRIC_NAMES if any(name in expr for expr in expressions)}

    assert sorted(named - exported) == [], sorted(named - exported)
    assert sorted(set(METRIC_NAMES) - shown) == [], sorted(set(METRIC_NAMES) - shown)


def test_operation_names_beyond_the_limit_count_as_other() -> None:
    names = OperationNames(limit=2)

    labels = [names.label(name) for name in ("A", "B", "C", "A", None, "not a name!")]

    assert labels == ["A", "B", "other", "A", "anonymous", "other"], labels


@contextmanager
def gateway_process(env: dict[str, str]) -> Iterator[str]:
    """The gateway as a deployment runs it (uvicorn's factory), in its own process."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "gateway.asgi:create_app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


def test_metrics_of_two_processes_add_up(
    personalize: LocalPersonalize, store: Store, tmp_path: Path
) -> None:
    multiprocess_dir = tmp_path / "metrics"
    multiprocess_dir.mkdir()
    settings = settings_for(personalize, store.catalog_path)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PROMETHEUS_MULTIPROC_DIR": str(multiprocess_dir),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "GATEWAY_ENVIRONMENT": "development",
        "GATEWAY_METRICS": "true",
        "GATEWAY_PERSONALIZE_ENDPOINT_URL": personalize.endpoint_url,
        "GATEWAY_RECOMMENDATIONS_ARN": str(settings.recommendations_arn),
        "GATEWAY_CATALOG_PATH": str(store.catalog_path),
    }
    with gateway_process(env) as first, gateway_process(env) as second:
        for url in (first, second, second):
            httpx.post(f"{url}/graphql", json={"query": FOR_YOU}, timeout=10).raise_for_status()
        scrapes = [httpx.get(f"{url}/metrics", timeout=10).text for url in (first, second)]

    counted = [
        sample(scrape, "gateway_graphql_requests_total", operation="ForYou", outcome="ok")
        for scrape in scrapes
    ]
    assert counted == [3.0, 3.0], counted
