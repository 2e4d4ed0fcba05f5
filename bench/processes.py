"""The benchmark's server processes: started on loopback, pinned to cores, polled, stopped."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
LOG_TAIL_LINES = 20
# Our own variables only: a stray GATEWAY_* of the caller's shell would change what is measured.
_CHILD_ENV_DROPPED = ("GATEWAY_", "BENCH_PLAIN_")
# Loopback only: a proxy from the environment must not see these requests.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says which process or step failed."""


@dataclass(frozen=True)
class CorePlan:
    """Which cores each part runs on; None everywhere on a single core (nothing is pinned)."""

    server: frozenset[int] | None
    emulator: frozenset[int] | None
    load: frozenset[int] | None

    @classmethod
    def for_cores(cls, cores: Sequence[int]) -> CorePlan:
        """The server under test alone on the first core; the emulator on the second; the load
        generator on a third, or beside the emulator (whose calls are short) with two."""
        ordered = sorted(cores)
        if len(ordered) < 2:
            return cls(None, None, None)
        load = ordered[2] if len(ordered) > 2 else ordered[1]
        return cls(frozenset({ordered[0]}), frozenset({ordered[1]}), frozenset({load}))

    @classmethod
    def available(cls) -> CorePlan:
        """The plan for the cores this process may run on."""
        getter = getattr(os, "sched_getaffinity", None)
        cores = sorted(getter(0)) if getter is not None else []
        return cls.for_cores(cores)

    def describe(self) -> str:
        if self.server is None:
            return "not pinned (fewer than 2 cores)"
        return (
            f"server under test on core {_cores(self.server)}, local Personalize on core "
            f"{_cores(self.emulator)}, load generator on core {_cores(self.load)}"
        )


def _cores(cores: frozenset[int] | None) -> str:
    return ",".join(str(core) for core in sorted(cores or ()))


@dataclass
class Server:
    """A server process on loopback: its log file, the path that answers once it is ready,
    and the cores it is pinned to then."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    ready_path: str
    cores: frozenset[int] | None = None
    stats_port: int | None = None  # where ready_path and the stats answer, if not on port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def stats_url(self) -> str:
        return f"http://{HOST}:{self.stats_port or self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def get_json(self, path: str) -> Any:
        """GET `path` (on the stats port, if any) and decode the JSON answer.

        Patient: after a phase that overloaded the server, its queue drains before the answer.
        """
        return get_json(self.stats_url + path, timeout_s=STATS_TIMEOUT_S)

    def pids(self) -> list[int]:
        """The process and its descendants (e.g. uvicorn's workers)."""
        return process_tree(self.pid)

    def cpu_seconds(self) -> float | None:
        """CPU seconds the process and its descendants have used so far."""
        seconds = [cpu_seconds(pid) for pid in self.pids()]
        known = [value for value in seconds if value is not None]
        return sum(known) if known else None

    def rss_bytes(self) -> int | None:
        """Resident memory of the process and its descendants."""
        sizes = [_rss(pid) for pid in self.pids()]
        known = [value for value in sizes if value is not None]
        return sum(known) if known else None

    def log_tail(self) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-LOG_TAIL_LINES:])


def free_port() -> int:
    """A port free on loopback now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This environment without our variables, plus `extra` and the project on the path."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(_CHILD_ENV_DROPPED)
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def pinned(command: Sequence[str], cores: frozenset[int] | None) -> list[str]:
    """`command` run on `cores` through taskset (for wrk), when there are cores and taskset."""
    taskset = shutil.which("taskset")
    if cores is None or taskset is None:
        return list(command)
    return [taskset, "-c", _cores(cores), *command]


def pin(pid: int, cores: frozenset[int] | None) -> None:
    """Pin every thread of a running process to `cores` (threads it starts later inherit)."""
    if cores is None or not hasattr(os, "sched_setaffinity"):
        return
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that has just ended
            os.sched_setaffinity(tid, cores)


@contextlib.contextmanager
def spawned(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    env: Mapping[str, str],
    cores: frozenset[int] | None,
    ready_path: str,
    stats_port: int | None = None,
    cwd: Path = ROOT,
) -> Iterator[Server]:
    """Start `command` (to listen on `port`) and stop it on exit; `wait_ready` waits for it
    and then pins it to `cores` (so that processes starting together do not share one core)."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            list(command),
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
        )
    server = Server(name, process, port, log, ready_path, cores, stats_port)
    try:
        yield server
    finally:
        stop(server)


def wait_ready(server: Server, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll its `ready_path` until it answers 200; fail with the log's tail if it ends first."""
    deadline = time.monotonic() + timeout_s
    url = server.stats_url + server.ready_path
    while True:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with code {server.process.returncode} before it was "
                f"ready; the end of its log:\n{server.log_tail()}"
            )
        try:
            with _opener.open(url, timeout=2) as response:
                ready = response.status == 200
        except (urllib.error.URLError, OSError):
            ready = False
        if ready:
            for pid in server.pids():
                pin(pid, server.cores)
            return
        if time.monotonic() > deadline:
            raise BenchError(
                f"{server.name} did not answer {url} within {timeout_s:.0f} s; the end of its "
                f"log:\n{server.log_tail()}"
            )
        time.sleep(POLL_INTERVAL_S)


def interrupt(server: Server) -> None:
    """Ctrl-C the process, to begin a graceful shutdown (`stop` waits for it)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)


def stop(server: Server, timeout_s: float = STOP_TIMEOUT_S) -> None:
    """Ctrl-C the process (a graceful shutdown), then kill it if it does not end in time."""
    process = server.process
    if process.poll() is None:
        interrupt(server)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


STATS_TIMEOUT_S = 120.0  # a server may still be draining 1,000 connections' requests


def get_json(url: str, *, timeout_s: float = 10.0) -> Any:
    """The decoded JSON answer of a GET."""
    try:
        with _opener.open(url, timeout=timeout_s) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise BenchError(f"GET {url} failed: {error}") from error


def put_json(url: str, body: Any, *, timeout_s: float = 10.0) -> Any:
    """The decoded JSON answer of a PUT of `body` as JSON."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise BenchError(f"PUT {url} failed: {error}") from error


def post_json(url: str, body: bytes, *, timeout_s: float = 10.0) -> bytes:
    """The raw answer of a POST of a JSON `body`."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            answer: bytes = response.read()
            return answer
    except (urllib.error.URLError, OSError) as error:
        raise BenchError(f"POST {url} failed: {error}") from error


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc (just `pid` where /proc is missing)."""
    found = [pid]
    for parent in found:
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in threads:
            try:
                with open(f"/proc/{parent}/task/{tid}/children", encoding="ascii") as children:
                    found.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return found


def _rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return None


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far; None where /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # After the command name: state is field 3 of stat(5), utime and stime are fields 14 and 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def python_command(*arguments: str) -> list[str]:
    """This interpreter running `arguments` (e.g. "-m", "uvicorn", ...)."""
    return [sys.executable, *arguments]


def gateway_command(*arguments: str) -> list[str]:
    """The `personalize-gateway` command installed beside this interpreter."""
    script = Path(sys.executable).with_name("personalize-gateway")
    if script.is_file():
        return [str(script), *arguments]
    from bench.instrumented import gateway_cli_fallback

    return [sys.executable, *gateway_cli_fallback(), *arguments]
