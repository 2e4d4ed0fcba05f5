"""The gateway on the local Personalize (full sample), served on loopback for a real browser."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import LocalPersonalize, start_local_personalize
from gateway.catalog.load import load_catalog
from gateway.http.app import create_app
from gateway.wiring import LOCAL_CREDENTIALS
from tests.browser.devtools import EXECUTABLE_NAMES, find_chromium
from tests.gateway.conftest import settings_for
from tests.servers import serve


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; the tests skip without one, except in CI where they fail."""
    executable = find_chromium()
    if executable is None:
        wanted = os.environ.get("CHROMIUM") or " or ".join(EXECUTABLE_NAMES)
        message = (
            f"Chromium not found ({wanted}): run scripts/browser-deps to install Debian's "
            "chromium, or set CHROMIUM=/path/to/chromium"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return executable


@pytest.fixture(scope="session")
def local_personalize(sample_dir: Path) -> Iterator[LocalPersonalize]:
    with start_local_personalize(sample_dir) as personalize:
        yield personalize


@pytest.fixture(scope="session")
def gateway_url(
    local_personalize: LocalPersonalize,
    sample_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The base URL of the gateway, with GraphiQL, on the local Personalize and its catalog."""
    catalog_path = tmp_path_factory.mktemp("catalog") / "catalog.db"
    load_catalog(sample_dir / "items.csv", catalog_path)
    settings = settings_for(local_personalize, catalog_path, graphiql=True)
    with serve(create_app(settings, credentials=LOCAL_CREDENTIALS)) as url:
        yield url
