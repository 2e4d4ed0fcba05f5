"""Header limits and slow clients against the servers operators run: `personalize-gateway serve`
(one process and `--workers 2`) and the container's uvicorn command line, on loopback."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from emulator import LocalPersonalize
from tests.gateway.conftest import Store, settings_for
from tests.gateway.test_serve import SHUTDOWN_TIMEOUT_S, wait_until_healthy
from tests.servers import free_port

QUERY = '{ recommendations(userId: "u-01", numResults: 3) { items { itemId } } }'
HEADER_ATTACK_BYTES = 64 * 1024 * 1024
RSS_GROWTH_LIMIT_KB = 20 * 1024
READ_TIMEOUT_S = 1.0
SLOW_CLIENTS = 500
SLOW_BODIES = 100
CUT_OFF_WITHIN_S = READ_TIMEOUT_S + 4.0  # scheduling on a shared machine
BIN = Path(sys.executable).parent
DOCKERFILE = Path(__file__).parents[2] / "Dockerfile"


@contextmanager
def running(
    command: list[str], environment: dict[str, str], base_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
        try:
            wait_until_healthy(process, base_url, log)
            yield process
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)


def gateway_environment(
    personalize: LocalPersonalize, store: Store, port: int, **changes: object
) -> dict[str, str]:
    settings = settings_for(personalize, store.catalog_path, port=port, **changes)
    environment = {name: value for name, value in os.environ.items() if "GATEWAY_" not in name}
    environment |= settings.as_environment()
    return environment | {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


def rss_kb(pid: int) -> int:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert found is not None
    return int(found.group(1))


async def send_endless_header(port: int, size: int) -> tuple[int, bytes]:
    """Send one header of `size` bytes (or until the server closes); bytes sent, answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /graphql HTTP/1.1\r\nhost: gateway\r\nx-attack: ")
    sent = 0
    chunk = b"a" * (256 * 1024)
    try:
        async with asyncio.timeout(30):
            while sent < size:
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
    except ConnectionError:
        pass
    try:
        async with asyncio.timeout(5):
            answer = await reader.read(4096)
    except (ConnectionError, TimeoutError):
        answer = b""
    writer.close()
    return sent, answer


async def slow_client(port: int, *, body: bool) -> float:
    """A client sending its headers (or body) a byte at a time; seconds until cut off."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"POST /graphql HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\n"
    if body:
        writer.write(request + b"content-length: 2000\r\n\r\n")
        request = b"{" * 2000
    try:
        async with asyncio.timeout(CUT_OFF_WITHIN_S + 5):
            for byte in request:
                writer.write(bytes([byte]))
                await writer.drain()
                if reader.at_eof():
                    break
                try:
                    async with asyncio.timeout(0.2):
                        if not await reader.read(4096):
                            break
                except TimeoutError:
                    pass
    except ConnectionError:
        pass
    writer.close()
    return time.monotonic() - started


def header_attack_stays_small(process: subprocess.Popen[bytes], port: int) -> tuple[int, bytes]:
    """The 64 MB header's answer, and the server's largest RSS growth meanwhile (kB)."""
    before = rss_kb(process.pid)
    peak = before

    async def attack() -> bytes:
        nonlocal peak
        task = asyncio.create_task(send_endless_header(port, HEADER_ATTACK_BYTES))
        while not task.done():
            peak = max(peak, rss_kb(process.pid))
            await asyncio.sleep(0.02)
        return (await task)[1]

    answer = asyncio.run(attack())
    return peak - before, answer


def test_serve_refuses_a_64_mb_header_without_growing(
    local_personalize: LocalPersonalize, store: Store, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = gateway_environment(local_personalize, store, port)
    command = [str(BIN / "personalize-gateway"), "serve"]
    with running(command, environment, base_url, tmp_path / "serve.log") as process:
        growth, answer = header_attack_stays_small(process, port)
        after = httpx.post(f"{base_url}/graphql", json={"query": QUERY}, timeout=10)

    assert growth < RSS_GROWTH_LIMIT_KB, growth
    assert answer[:12] in (b"HTTP/1.1 431", b""), answer[:200]
    assert after.status_code == 200, after.text


def test_serve_cuts_slow_clients_off_while_answering_others(
    local_personalize: LocalPersonalize, store: Store, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = gateway_environment(
        local_personalize, store, port, request_read_timeout=READ_TIMEOUT_S
    )
    command = [str(BIN / "personalize-gateway"), "serve"]

    async def clients() -> tuple[list[float], int]:
        slow = [asyncio.create_task(slow_client(port, body=False)) for _ in range(SLOW_CLIENTS)]
        slow += [asyncio.create_task(slow_client(port, body=True)) for _ in range(SLOW_BODIES)]
        await asyncio.sleep(READ_TIMEOUT_S / 2)
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            normal = await client.post("/graphql", json={"query": QUERY})
        return list(await asyncio.gather(*slow)), normal.status_code

    with running(command, environment, base_url, tmp_path / "serve.log"):
        held, normal_status = asyncio.run(clients())

    assert normal_status == 200, normal_status
    assert max(held) < CUT_OFF_WITHIN_S, sorted(held)
    assert min(held) >= READ_TIMEOUT_S, sorted(held)


@pytest.mark.slow
def test_serve_with_workers_refuses_a_header_over_its_limit(
    local_personalize: LocalPersonalize, store: Store, tmp_path: Path
) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = gateway_environment(
        local_personalize, store, port, workers=2, max_header_field_bytes=1024
    )
    command = [str(BIN / "personalize-gateway"), "serve"]
    with running(command, environment, base_url, tmp_path / "serve.log"):
        over = httpx.post(
            f"{base_url}/graphql", json={"query": QUERY}, headers={"x-big": "a" * 1025}
        )
        under = httpx.post(
            f"{base_url}/graphql", json={"query": QUERY}, headers={"x-big": "a" * 1000}
        )

    assert over.status_code == 431, over.text
    assert under.status_code == 200, under.text


def test_container_command_runs_the_guarded_protocol(
    local_personalize: LocalPersonalize, store: Store, tmp_path: Path
) -> None:
    option = "--http gateway.http_protocol:GuardedHttpToolsProtocol"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    environment = gateway_environment(local_personalize, store, port, max_header_bytes=4096)
    command = [str(BIN / "uvicorn"), "--factory", "gateway.asgi:create_app_from_env"]
    command += [*option.split(), "--host", "127.0.0.1", "--port", str(port)]
    with running(command, environment, base_url, tmp_path / "uvicorn.log"):
        over = httpx.get(f"{base_url}/healthz", headers={f"x-{n}": "a" * 1000 for n in range(5)})

    assert option in DOCKERFILE.read_text(), "the container runs another command"
    assert over.status_code == 431, over.text
