"""Just enough of the Chrome DevTools Protocol to drive a headless Chromium from tests.

The browser is Debian's Chromium found on PATH (never a downloaded one), started with a
throw-away profile; commands go over the page's DevTools websocket on loopback.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from websockets.sync.client import ClientConnection, connect

EXECUTABLE_NAMES: Final = ("chromium", "chromium-browser", "google-chrome")
WINDOW_SIZE: Final = (1440, 900)
COMMAND_TIMEOUT: Final = 15.0
STARTUP_TIMEOUT: Final = 20.0

_FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class DevToolsError(RuntimeError):
    """Chromium failed to start, or answered a DevTools command with an error."""


def find_chromium() -> str | None:
    """The Chromium executable: $CHROMIUM (a name or a path) if set, else a known name on PATH."""
    configured = os.environ.get("CHROMIUM")
    for name in (configured,) if configured else EXECUTABLE_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Page:
    """One browser tab: sends commands and keeps every event it receives, in order."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._last_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        self._last_id += 1
        command_id = self._last_id
        self._connection.send(
            json.dumps({"id": command_id, "method": method, "params": params or {}})
        )
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DevToolsError(f"{method}: no answer within {COMMAND_TIMEOUT} s")
            message = json.loads(self._connection.recv(timeout=remaining))
            if message.get("id") == command_id:
                if "error" in message:
                    raise DevToolsError(f"{method}: {message['error'].get('message')}")
                result: dict[str, Any] = message["result"]
                return result
            if "method" in message:
                self.events.append(message)

    def events_named(self, method: str) -> list[dict[str, Any]]:
        return [event["params"] for event in self.events if event["method"] == method]

    def navigate(self, url: str) -> None:
        """Open `url` and wait until its load event fired."""
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'", timeout=COMMAND_TIMEOUT)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (promises awaited)."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text")
            raise DevToolsError(f"{expression!r} threw: {description}")
        return result["result"].get("value")

    def wait_for(self, expression: str, *, timeout: float) -> Any:
        """Poll `expression` until it is truthy and return its value; fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise DevToolsError(f"still falsy after {timeout} s: {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """Click the middle of the first element matching `selector`, as a mouse would."""
        box = self.evaluate(
            f"""(() => {{
                const element = document.querySelector({json.dumps(selector)});
                if (!element) return null;
                const rect = element.getBoundingClientRect();
                return {{x: rect.x + rect.width / 2, y: rect.y + rect.height / 2}};
            }})()"""
        )
        if box is None:
            raise DevToolsError(f"nothing matches {selector!r}")
        for event_type in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": event_type, "button": "left", "clickCount": 1, **box},
            )

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


@contextmanager
def open_page(executable: str) -> Iterator[Page]:
    """A fresh headless Chromium (own temporary profile) and its first tab, closed on exit."""
    # Chromium's helper processes may still write to the profile as the browser exits.
    with tempfile.TemporaryDirectory(prefix="chromium-", ignore_cleanup_errors=True) as profile:
        profile_dir = Path(profile)
        log_path = profile_dir / "chromium.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    executable,
                    *_FLAGS,
                    f"--window-size={WINDOW_SIZE[0]},{WINDOW_SIZE[1]}",
                    f"--user-data-dir={profile_dir / 'profile'}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            try:
                port = _wait_for_devtools_port(process, profile_dir / "profile", log_path)
                with connect(_page_websocket_url(port), proxy=None, max_size=None) as connection:
                    yield Page(connection)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_for_devtools_port(process: subprocess.Popen[bytes], profile: Path, log: Path) -> int:
    # Chromium writes the port it picked (we asked for 0) into the profile directory.
    active_port = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            raise DevToolsError(f"Chromium exited with status {process.returncode}:\n{output}")
        if active_port.exists():
            lines = active_port.read_text().splitlines()
            if lines and lines[0].isdigit():
                return int(lines[0])
        time.sleep(0.05)
    raise DevToolsError(f"Chromium did not open its DevTools port within {STARTUP_TIMEOUT} s")


def _page_websocket_url(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=COMMAND_TIMEOUT) as response:
        targets = json.load(response)
    for target in targets:
        if target.get("type") == "page":
            url: str = target["webSocketDebuggerUrl"]
            return url
    raise DevToolsError(f"Chromium on port {port} has no page target: {targets}")
