"""Throwaway servers for the catalog sources: PostgreSQL (Debian's package) and moto's DynamoDB.

Each starts on a free loopback port and stops on exit. A missing PostgreSQL skips its tests
with a message, except in CI (`CI` set), where `scripts/test-deps` installs it and its absence
fails them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port

SERVER_TIMEOUT = 30.0
POSTGRES_USER = "nobody"  # postgres refuses to run as root: the cluster runs as this user


def require(what: str, reason: str) -> None:
    """Skip (or, in CI, fail) the test: `what` is missing, for `reason`."""
    message = f"{what} is not installed ({reason}): run scripts/test-deps"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def postgres_bin(root: Path = Path("/")) -> Path | None:
    """The directory of Debian's PostgreSQL server programs (the newest), or of those on PATH.

    Debian's `postgresql` package puts them in /usr/lib/postgresql/VERSION/bin, off PATH.
    """
    found = sorted(glob.glob(str(root / "usr/lib/postgresql/*/bin/initdb")), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return None if initdb is None else Path(initdb).parent


def _version(path: str) -> int:
    return int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster of its own on a free loopback port; yields its URL."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        require("PostgreSQL", "initdb and pg_ctl")
        raise AssertionError("unreachable")
    directory = Path(tempfile.mkdtemp(prefix="catalog-postgres-"))
    data = directory / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam(POSTGRES_USER)
        os.chown(directory, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", POSTGRES_USER, "--"]
    port = free_port()

    def run(*command: str) -> None:
        subprocess.run(
            [*as_user, *command], check=True, capture_output=True, timeout=SERVER_TIMEOUT
        )

    try:
        run(
            str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(directory / "log"),
            "start",
        )
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def dynamodb_server() -> Iterator[str]:
    """moto's server (DynamoDB and the rest of its AWS) on a free loopback port; its URL."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        require("moto[server]", "the dev extra")
        raise AssertionError("unreachable") from None
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        deadline = time.monotonic() + SERVER_TIMEOUT
        url = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        server.stop()
