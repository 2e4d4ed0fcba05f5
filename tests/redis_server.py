"""A throwaway redis-server (Debian's package) on a free loopback port, that tests can kill,
start again on the same port, or pause to play a slow Redis.

A missing redis-server skips its tests with a message, except in CI (`CI` set), where
`scripts/test-deps` installs it and its absence fails them.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.catalog_servers import require
from tests.servers import free_port

START_TIMEOUT = 30.0


class RedisServer:
    """One redis-server process at a time on `port`, keeping nothing on disk."""

    def __init__(self, program: str, port: int, directory: Path) -> None:
        self.program = program
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        self.process = subprocess.Popen(
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server did not start:\n{log}")
            time.sleep(0.02)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), as a crash or a lost machine would."""
        if self.process is not None:
            self.resume()
            self.process.kill()
            self.process.wait(timeout=START_TIMEOUT)
            self.process = None

    def pause(self) -> None:
        """Stop the process (SIGSTOP): connections stay open and nothing answers."""
        assert self.process is not None, "the server is not running"
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.process is not None and self.paused:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def command(self, *words: str) -> bytes:
        """One command sent over a plain socket (no client library); the raw reply."""
        request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(request.encode())
            return connection.recv(65536)

    def answers(self) -> bool:
        try:
            return self.command("PING") == b"+PONG\r\n"
        except OSError:
            return False


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of its own on a free loopback port, stopped on exit."""
    program = shutil.which("redis-server")
    if program is None:
        require("redis-server", "the Debian package redis-server")
        raise AssertionError("unreachable")
    directory = Path(tempfile.mkdtemp(prefix="gateway-redis-"))
    server = RedisServer(program, free_port(), directory)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(directory, ignore_errors=True)
