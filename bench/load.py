"""HTTP load generators for the standard query: wrk (when installed) or an asyncio client.

Both keep connections alive, cycle through the given users' request bodies, count as an error
any answer that is not HTTP 200 with GraphQL `data` and no `errors`, and report latency
percentiles over every completed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import aiohttp

from bench.processes import BenchError, pinned

STANDARD_QUERY = (
    "query($userId: ID!) { recommendations(userId: $userId, numResults: 25) { recommendationId "
    "items { itemId score item { title description imageUrl price category } } } }"
)
REQUEST_TIMEOUT_S = 10.0
_WRK_RESULT_PREFIX = "BENCH-RESULT "


@dataclass(frozen=True)
class LoadResult:
    """What one phase of load measured, as the client saw it."""

    requests: int
    errors: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    client_cpu_s: float | None = None  # CPU the load generator itself used

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


class LoadGenerator(Protocol):
    """Sends the standard query to `url` from `concurrency` connections for `duration_s`."""

    @property
    def name(self) -> str: ...

    def run(
        self,
        url: str,
        concurrency: int,
        duration_s: float,
        cores: frozenset[int] | Literal["default"] | None = "default",
    ) -> LoadResult: ...


def request_bodies(user_ids: Sequence[str]) -> list[bytes]:
    """The JSON body of the standard query for each user."""
    return [
        json.dumps({"query": STANDARD_QUERY, "variables": {"userId": user_id}}).encode()
        for user_id in user_ids
    ]


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of values sorted ascending (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class PythonLoad:
    """An aiohttp client in this process: `concurrency` workers, one keep-alive connection each."""

    name = "asyncio client (aiohttp)"

    def __init__(self, bodies: Sequence[bytes], cores: frozenset[int] | None = None) -> None:
        self.bodies = list(bodies)
        self.cores = cores

    def run(
        self,
        url: str,
        concurrency: int,
        duration_s: float,
        cores: frozenset[int] | Literal["default"] | None = "default",
    ) -> LoadResult:
        started = time.process_time()
        with _pinned_thread(self.cores if cores == "default" else cores):
            result = asyncio.run(self._drive(url, concurrency, duration_s))
        return dataclasses.replace(result, client_cpu_s=time.process_time() - started)

    async def _drive(self, url: str, concurrency: int, duration_s: float) -> LoadResult:
        latencies: list[float] = []
        errors = 0
        bodies = self.bodies
        headers = {"Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        connector = aiohttp.TCPConnector(limit=concurrency)
        clock = time.perf_counter
        started = clock()
        deadline = started + duration_s

        async def work(session: aiohttp.ClientSession, position: int) -> None:
            nonlocal errors
            while clock() < deadline:
                body = bodies[position % len(bodies)]
                position += concurrency
                sent = clock()
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        payload = await response.read()
                        answered = response.status == 200 and _answered(payload)
                except (aiohttp.ClientError, TimeoutError):
                    answered = False
                latencies.append((clock() - sent) * 1000)
                errors += not answered

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(work(session, index) for index in range(concurrency)))
        elapsed = clock() - started
        latencies.sort()
        return LoadResult(
            requests=len(latencies),
            errors=errors,
            duration_s=elapsed,
            p50_ms=percentile(latencies, 50),
            p99_ms=percentile(latencies, 99),
        )


def _answered(payload: bytes) -> bool:
    try:
        document = json.loads(payload)
    except ValueError:
        return False
    return isinstance(document, dict) and "errors" not in document and bool(document.get("data"))


@contextlib.contextmanager
def _pinned_thread(cores: frozenset[int] | None) -> Iterator[None]:
    if cores is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


class WrkLoad:
    """wrk with a Lua script that cycles through the bodies and checks every answer.

    wrk runs whole seconds, so a duration is rounded up to the next second.
    """

    name = "wrk"

    def __init__(
        self,
        bodies: Sequence[bytes],
        script: Path,
        cores: frozenset[int] | None = None,
        executable: str = "wrk",
    ) -> None:
        self.script = script
        self.cores = cores
        self.executable = executable
        script.write_text(_wrk_script(bodies), encoding="utf-8")

    @staticmethod
    def find() -> str | None:
        """The wrk executable on PATH, if installed."""
        return shutil.which("wrk")

    def run(
        self,
        url: str,
        concurrency: int,
        duration_s: float,
        cores: frozenset[int] | Literal["default"] | None = "default",
    ) -> LoadResult:
        seconds = max(1, math.ceil(duration_s))
        pinning = self.cores if cores == "default" else cores
        command = [
            self.executable,
            "--threads",
            "1",
            "--connections",
            str(concurrency),
            "--duration",
            f"{seconds}s",
            "--timeout",
            f"{REQUEST_TIMEOUT_S:.0f}s",
            "--script",
            str(self.script),
            url,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        completed = subprocess.run(
            pinned(command, pinning),
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=False,
        )
        lines = [
            line.removeprefix(_WRK_RESULT_PREFIX)
            for line in completed.stdout.splitlines()
            if line.startswith(_WRK_RESULT_PREFIX)
        ]
        if completed.returncode != 0 or not lines:
            raise BenchError(
                f"wrk failed (exit code {completed.returncode}):\n"
                f"{completed.stdout}{completed.stderr}"
            )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        result: dict[str, Any] = json.loads(lines[-1])
        return LoadResult(
            requests=result["requests"],
            errors=sum(result["errors"].values()),
            duration_s=result["duration_us"] / 1e6,
            p50_ms=result["p50_us"] / 1000,
            p99_ms=result["p99_us"] / 1000,
            client_cpu_s=used,
        )


def _lua_string(data: bytes) -> str:
    text = data.decode("ascii")  # json.dumps escapes everything else
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_script(bodies: Sequence[bytes]) -> str:
    listed = ",\n".join(f"  {_lua_string(body)}" for body in bodies)
    return f"""-- Written by bench/load.py: the standard query for each user, answers checked.
local bodies = {{
{listed}
}}
local headers = {{["Content-Type"] = "application/json"}}
local threads = {{}}

function setup(thread)
  thread:set("position", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  graphql_errors = 0
end

function request()
  position = position + 1
  return wrk.format("POST", nil, headers, bodies[position % #bodies + 1])
end

function response(status, headers, body)
  if status == 200 and (body:find('"errors"', 1, true) or not body:find('"data"', 1, true)) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, requests)
  local graphql = 0
  for _, thread in ipairs(threads) do
    graphql = graphql + thread:get("graphql_errors")
  end
  local errors = summary.errors
  io.write(string.format(
    '{_WRK_RESULT_PREFIX}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,'
    .. '"errors":{{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"graphql":%d}}}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, graphql))
end
"""
