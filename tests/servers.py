"""Serving an ASGI app for real, for clients that are not in this process (a browser, Node)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

SERVER_STARTUP_TIMEOUT = 30.0


def free_port() -> int:
    """A loopback port free right now, for a server started in another process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn, lifespan and all, on a free loopback port from a background
    thread; yields its base URL (``http://127.0.0.1:PORT``) and stops it on exit."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, lifespan="on", ws="none", access_log=False, log_config=None)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + SERVER_STARTUP_TIMEOUT
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the app did not start; its log says why")
                time.sleep(0.01)
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            server.should_exit = True
            thread.join(timeout=SERVER_STARTUP_TIMEOUT)


class LifespanState:
    """Wraps an ASGI app to keep what its lifespan opened (e.g. the gateway's catalog), so that
    a test can read it while the app is served in another thread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.state = scope["state"]  # the very dict the lifespan fills at start-up
        await self.app(scope, receive, send)
