"""A canned Personalize for the benchmark: the local Personalize's own answers, replayed.

The servers under test are compared on their own CPU, so the upstream must cost next to nothing
and answer every server alike. The local Personalize spends about a millisecond of CPU per call
(its recommender) and gives each answer a fresh `recommendationId`; this server answers
GetRecommendations from answers captured from it once per user (`capture_answers`), on a bare
asyncio protocol, so a call costs tens of microseconds and the same user gets the same bytes
from every server. It keeps the local Personalize's admin paths the benchmark uses:
`GET /_emulator/stats` (calls per operation), `PUT /_emulator/faults` (`latency_ms`) and
`GET /healthz`.

    python -m bench.canned --answers FILE --port PORT   # FILE: JSON lines from capture_answers
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

OPERATION = "GetRecommendations"
CAPTURE_CONCURRENCY = 4
_HEADER_END = b"\r\n\r\n"
_MAX_HEADER_BYTES = 65536


def answer_key(user_id: str, num_results: int) -> str:
    return f"{num_results}:{user_id}"


async def capture_answers(
    endpoint_url: str,
    campaign_arn: str,
    user_ids: Sequence[str],
    num_results: int,
) -> dict[str, str]:
    """Ask the local Personalize at `endpoint_url` for each user's recommendations once; the
    raw answers by user (`write_answers` saves them for the server)."""
    url = endpoint_url.rstrip("/") + "/recommendations"
    queue = list(user_ids)
    captured: dict[str, str] = {}

    async def work(session: aiohttp.ClientSession) -> None:
        while queue:
            user_id = queue.pop()
            body = {"campaignArn": campaign_arn, "userId": user_id, "numResults": num_results}
            async with session.post(url, json=body) as response:
                text = await response.text()
                if response.status != 200:
                    raise RuntimeError(
                        f"the local Personalize answered {response.status} for {user_id}: {text}"
                    )
            captured[user_id] = text

    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(work(session) for _ in range(CAPTURE_CONCURRENCY)))
    return captured


def write_answers(captured: dict[str, str], num_results: int, answers: Path) -> None:
    """Save `capture_answers`' answers as JSON lines for `python -m bench.canned`."""
    with open(answers, "w", encoding="utf-8") as file:
        for user_id, body in captured.items():
            line = {"userId": user_id, "numResults": num_results, "body": body}
            file.write(json.dumps(line) + "\n")


def read_answers(answers: Path) -> dict[str, bytes]:
    """The captured answers by `answer_key`."""
    found: dict[str, bytes] = {}
    with open(answers, encoding="utf-8") as file:
        for line in file:
            entry = json.loads(line)
            found[answer_key(entry["userId"], entry["numResults"])] = entry["body"].encode()
    return found


@dataclass
class CannedState:
    """The answers, the calls counted, the latency added to each call."""

    answers: dict[str, bytes]
    calls: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0

    def respond(self, method: bytes, path: bytes, body: bytes) -> tuple[int, bytes, bool]:
        """Status, JSON body and whether the answer waits `latency_s`."""
        if method == b"POST" and path == b"/recommendations":
            self.calls[OPERATION] = self.calls.get(OPERATION, 0) + 1
            request = json.loads(body)
            key = answer_key(str(request.get("userId")), int(request.get("numResults", 25)))
            answer = self.answers.get(key)
            if answer is None:
                return 404, _error("ResourceNotFoundException", f"no canned answer for {key}"), True
            return 200, answer, True
        if method == b"GET" and path == b"/_emulator/stats":
            return 200, json.dumps({"calls": self.calls}).encode(), False
        if method == b"PUT" and path == b"/_emulator/faults":
            changes = json.loads(body)
            self.latency_s = float(changes.get("latency_ms", self.latency_s * 1000)) / 1000
            return 200, json.dumps({"latency_ms": self.latency_s * 1000}).encode(), False
        if method == b"GET" and path == b"/healthz":
            return 200, b'{"status":"ok"}', False
        return 404, _error("UnknownOperationException", f"{method!r} {path!r}"), False


def _error(code: str, message: str) -> bytes:
    return json.dumps({"__type": code, "message": message}).encode()


class _Protocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive and Content-Length bodies: what AWS SDKs send."""

    def __init__(self, state: CannedState) -> None:
        self.state = state
        self.buffer = b""
        self.transport: Any = None  # asyncio's or uvloop's transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(_HEADER_END)
            if end < 0:
                if len(self.buffer) > _MAX_HEADER_BYTES and self.transport is not None:
                    self.transport.close()
                return
            head = self.buffer[:end].split(b"\r\n")
            method, path, _ = head[0].split(b" ", 2)
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            start = end + len(_HEADER_END)
            if len(self.buffer) < start + length:
                return
            body = self.buffer[start : start + length]
            self.buffer = self.buffer[start + length :]
            self._answer(*self.state.respond(method, path.partition(b"?")[0], body))

    def _answer(self, status: int, body: bytes, delayed: bool) -> None:
        reason = b"OK" if status == 200 else b"Error"
        head = b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            status,
            reason,
            len(body),
        )
        if status != 200:
            error_type = json.loads(body)["__type"].encode()
            head += b"x-amzn-ErrorType: " + error_type + b"\r\n"
        message = head + b"\r\n" + body
        if delayed and self.state.latency_s > 0:
            asyncio.get_running_loop().call_later(self.state.latency_s, self._write, message)
        else:
            self._write(message)

    def _write(self, message: bytes) -> None:
        if self.transport is not None:
            self.transport.write(message)


async def serve(state: CannedState, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Protocol(state), host, port, backlog=2048)
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    async with server:
        await stopped.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.canned", description=__doc__)
    parser.add_argument("--answers", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    state = CannedState(read_answers(args.answers))
    runner: Any = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    runner(serve(state, args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
