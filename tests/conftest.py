"""Fixtures every test package may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.sample import write_sample_dataset
from tests.nodejs import find_node


@pytest.fixture(scope="session")
def node() -> str:
    """`node`, with tests/node's packages installed; skips the test without them (fails in CI)."""
    return find_node()


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full sample store's CSV files, written once per test session."""
    directory = tmp_path_factory.mktemp("sample")
    write_sample_dataset(directory)
    return directory
