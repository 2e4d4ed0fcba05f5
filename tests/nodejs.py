"""Node.js programs the tests run: real Apollo software in tests/node/ (see scripts/node-deps).

Without Node.js or the installed packages a test that needs them is skipped with a message
saying what to run, except in CI (`CI` set), where it fails instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

NODE_DIR = Path(__file__).parent / "node"
# scripts/node-deps writes there the SHA-256 of package.json + package-lock.json it installed.
INSTALLED_STAMP = NODE_DIR / "node_modules" / ".personalize-gateway-installed"
STARTUP_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0
STOP_TIMEOUT = 10.0
MAX_HEAP_MB = 256


def find_node() -> str:
    """The `node` executable, with the pinned packages installed; else skip (fail in CI)."""
    node = shutil.which("node")
    if node is None:
        _missing("Node.js not found (node is not on PATH): install Node.js 20 or newer")
    if not _installed():
        _missing(
            f"the npm packages of {NODE_DIR} are not installed, or not the ones its "
            "package-lock.json pins: run scripts/node-deps"
        )
    return node


def _installed() -> bool:
    wanted = hashlib.sha256(
        (NODE_DIR / "package.json").read_bytes() + (NODE_DIR / "package-lock.json").read_bytes()
    ).hexdigest()
    try:
        return INSTALLED_STAMP.read_text().strip() == wanted
    except FileNotFoundError:
        return False


def _missing(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _command(node: str, script: str, args: tuple[str, ...]) -> list[str]:
    return [node, f"--max-old-space-size={MAX_HEAP_MB}", str(NODE_DIR / script), *args]


def _environment() -> dict[str, str]:
    # Only what Node needs: no APOLLO_KEY or proxy of the developer's shell reaches Apollo.
    return {"PATH": os.environ.get("PATH", ""), "NODE_ENV": "test"}


@contextmanager
def node_server(node: str, script: str, *args: str, log: Path) -> Iterator[str]:
    """Run the server `script` of tests/node; yields the URL it announces, stops it on exit.

    Its log (stderr) goes to `log`. It also exits by itself when this process's end closes
    its stdin, and after a maximum lifetime (tests/node/process.mjs).
    """
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            _command(node, script, args),
            cwd=NODE_DIR,
            env=_environment(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
        )
        try:
            yield _announced_url(process, script, log)
        finally:
            _stop(process)


def _announced_url(process: subprocess.Popen[bytes], script: str, log: Path) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.1)
        if ready:
            line = process.stdout.readline()
            if line:
                url: str = json.loads(line)["url"]
                return url
        if process.poll() is not None:
            break
    raise RuntimeError(
        f"{script} did not start (exit code {process.poll()}); its log {log} says:\n"
        + log.read_text(errors="replace")[-4000:]
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    for close in (process.stdin, process.stdout):
        if close is not None:
            close.close()  # the server exits when its stdin closes
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def run_node(node: str, script: str, *args: str) -> Any:
    """Run `script` of tests/node to its end; what it printed on stdout, decoded as JSON."""
    completed = subprocess.run(
        _command(node, script, args),
        cwd=NODE_DIR,
        env=_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(
            f"{script} exited with {completed.returncode}:\n"
            + completed.stderr.decode(errors="replace")[-4000:]
        )
    return json.loads(completed.stdout)
