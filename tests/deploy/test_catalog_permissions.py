"""The DynamoDB operations the catalog calls are those the template grants on its table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiobotocore.session import AioSession

from gateway.catalog.columns import ItemColumns
from gateway.catalog.dynamodb import DynamoDBCatalog, fill_table
from tests.catalog_servers import dynamodb_server
from tests.deploy.test_template import CATALOG_ACTIONS


@pytest.fixture(scope="module")
def dynamodb_url() -> Iterator[str]:
    with dynamodb_server() as url:
        yield url


async def test_catalog_calls_only_the_dynamodb_operations_the_template_grants(
    dynamodb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    called: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        called.add(f"dynamodb:{model.name}")

    async with AioSession().create_client(
        "dynamodb", region_name="eu-west-1", endpoint_url=dynamodb_url
    ) as client:
        await fill_table(client, "granted", "ITEM_ID", [{"ITEM_ID": "i-1", "TITLE": "One"}])
        client.meta.events.register("before-call.dynamodb", record)
        catalog = DynamoDBCatalog(
            client, "granted", key="ITEM_ID", columns=ItemColumns(attributes=()), timeout=5.0
        )
        await catalog.ping()
        found = await catalog.get_items(["i-1", "i-2"])

    assert sorted(found) == ["i-1"], found
    assert sorted(called) == CATALOG_ACTIONS, sorted(called)
