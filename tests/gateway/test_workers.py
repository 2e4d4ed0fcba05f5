"""`personalize-gateway serve --workers N`: N server processes on one port."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from emulator import LocalPersonalize
from gateway.settings import Settings
from tests.gateway.conftest import Store, settings_for
from tests.gateway.test_serve import SHUTDOWN_TIMEOUT_S, wait_until_healthy
from tests.servers import free_port

QUERY = '{ recommendations(userId: "u-01", numResults: 3) { items { item { title } } } }'


def worker_processes(pid: int) -> list[int]:
    """The children of `pid` started as server processes (not multiprocessing's tracker)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [
        int(child)
        for child in text.split()
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


def test_settings_as_environment_give_the_same_settings(
    local_personalize: LocalPersonalize, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(local_personalize, store.catalog_path, workers=3, cors_origins=["*"])
    for name, value in settings.as_environment().items():
        monkeypatch.setenv(name, value)

    assert Settings() == settings


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts processes in /proc")
def test_serve_with_2_workers_runs_2_processes_that_answer(
    local_personalize: LocalPersonalize, store: Store, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    settings = settings_for(local_personalize, store.catalog_path, port=port, workers=2)
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("GATEWAY_")
    }
    environment |= settings.as_environment()
    environment |= {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    command = [str(Path(sys.executable).parent / "personalize-gateway"), "serve"]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
        try:
            wait_until_healthy(process, base_url, log)
            answers = [
                httpx.post(f"{base_url}/graphql", json={"query": QUERY}, timeout=10).json()
                for _ in range(4)
            ]
            workers = worker_processes(process.pid)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)

    assert len(workers) == 2, (workers, log.read_text())
    assert all(len(answer["data"]["recommendations"]["items"]) == 3 for answer in answers), answers
