"""The README's command, `scripts/serve`, as a user runs it: a process, real HTTP, Ctrl-C."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120
SHUTDOWN_TIMEOUT_S = 30
QUERY = '{ recommendations(userId: "u-00001", numResults: 5) { items { itemId item { title } } } }'


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"scripts/serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"scripts/serve did not answer within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.mark.slow
def test_serve_embedded_default_answers_with_titles_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")
    }
    environment["GATEWAY_CATALOG_PATH"] = str(tmp_path / "catalog.db")
    command = [
        str(REPOSITORY / "scripts/serve"),
        "--port",
        str(port),
        "--data",
        str(tmp_path / "sample"),
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
        try:
            wait_until_healthy(process, base_url, log)
            response = httpx.post(f"{base_url}/graphql", json={"query": QUERY}, timeout=60)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    items = response.json()["data"]["recommendations"]["items"]
    assert len(items) == 5, items
    assert all(item["item"]["title"] for item in items), items
    assert process.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()
