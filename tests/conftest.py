"""Fixtures every test package may use."""

from __future__ import annotations

import pytest

from tests.nodejs import find_node


@pytest.fixture(scope="session")
def node() -> str:
    """`node`, with tests/node's packages installed; skips the test without them (fails in CI)."""
    return find_node()
