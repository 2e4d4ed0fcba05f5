"""The servers of the catalog sources, one each per test session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.catalog_servers import dynamodb_server, postgres_server


@pytest.fixture(scope="session")
def aws_credentials() -> Iterator[None]:
    """Credentials for moto (any will do) for code that reads botocore's chain."""
    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def dynamodb_url() -> Iterator[str]:
    with dynamodb_server() as url:
        yield url
