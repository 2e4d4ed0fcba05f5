"""Graceful shutdown of `personalize-gateway serve`: a request in flight still gets its answer."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from emulator import LocalPersonalize
from tests.gateway.conftest import Store
from tests.servers import free_port

COMMAND = Path(sys.executable).with_name("personalize-gateway")
STARTUP_TIMEOUT_S = 60
WAIT_TIMEOUT_S = 30
QUERY = '{ recommendations(userId: "u-01", numResults: 5) { source items { itemId } } }'


def wait_until(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")
        time.sleep(0.05)


def answers(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def gateway_environment(store: Store, personalize: LocalPersonalize, port: int) -> dict[str, str]:
    config = personalize.config
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")
    }
    return environment | {
        "GATEWAY_PORT": str(port),
        "GATEWAY_PERSONALIZE_ENDPOINT_URL": personalize.endpoint_url,
        "GATEWAY_RECOMMENDATIONS_ARN": config.campaign_arn("user-personalization"),
        "GATEWAY_CATALOG_PATH": str(store.catalog_path),
        "GATEWAY_UPSTREAM_DEADLINE": "20",
        "GATEWAY_SHUTDOWN_TIMEOUT": "20",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_shutdown_lets_the_request_in_flight_finish_with_its_data(
    store: Store, personalize: LocalPersonalize, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    personalize.faults.latency_ms = 1500  # the request is still in flight when the signal comes
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [str(COMMAND), "serve"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=gateway_environment(store, personalize, port),
        )
        try:
            wait_until(lambda: answers(base_url), "the gateway did not answer", log)
            with ThreadPoolExecutor(max_workers=1) as pool:
                in_flight = pool.submit(
                    httpx.post, f"{base_url}/graphql", json={"query": QUERY}, timeout=WAIT_TIMEOUT_S
                )
                wait_until(
                    lambda: personalize.stats.calls("GetRecommendations") == 1,
                    "the request did not reach Personalize",
                    log,
                )
                process.send_signal(signal.SIGTERM)
                response = in_flight.result(timeout=WAIT_TIMEOUT_S)
            process.wait(timeout=WAIT_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    answer = response.json()["data"]["recommendations"]
    output_text = log.read_text()
    assert answer["source"] == "PERSONALIZE", answer
    assert len(answer["items"]) == 5, answer
    # uvicorn re-raises the signal once it has shut down, so the process ends as SIGTERM asks.
    assert process.returncode == -signal.SIGTERM, process.returncode
    assert "Waiting for connections to close" in output_text, output_text
    assert "Application shutdown complete" in output_text, output_text
    assert "Traceback" not in output_text, output_text
