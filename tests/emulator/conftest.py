"""The sample store (`sample_dir`, from tests/conftest.py), loaded and trained on once per test
session.

`sample_model` is shared by every test of the session: record events only for user ids of your own
(e.g. "test-<name>"), or train a model of your own from `sample_dataset`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.dataset import Dataset, load_dataset
from emulator.model import Model


@pytest.fixture(scope="session")
def sample_dataset(sample_dir: Path) -> Dataset:
    return load_dataset(sample_dir)


@pytest.fixture(scope="session")
def sample_model(sample_dataset: Dataset) -> Model:
    return Model.train(sample_dataset)
