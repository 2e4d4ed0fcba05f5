import csv
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession

from gateway.catalog.columns import ItemColumns
from gateway.catalog.dynamodb import DynamoDBCatalog, fill_table
from gateway.catalog.load import load_catalog_to
from gateway.catalog.source import DynamoDBSource
from gateway.cli import main
from schema.ports import CatalogUnavailable

REGION = "us-east-1"


def write_items(path: Path, count: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ITEM_ID", "TITLE", "PRICE"])
        writer.writerows([f"i-{n}", f"Item {n}", f"{n}.5"] for n in range(count))
    return path


@pytest.fixture
async def client(aws_credentials: None, dynamodb_url: str) -> AsyncIterator[Any]:
    async with AioSession().create_client(
        "dynamodb", region_name=REGION, endpoint_url=dynamodb_url
    ) as opened:
        yield opened


def test_catalog_load_fills_a_table_and_shows_progress(
    aws_credentials: None, dynamodb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = write_items(tmp_path / "items.csv", 1030)

    code = main(
        [
            "catalog",
            "load",
            str(items),
            "--to",
            f"dynamodb://loaded?region={REGION}&endpoint_url={dynamodb_url}",
        ]
    )

    err = capsys.readouterr().err
    assert code == 0, err
    assert "wrote 1,030 items" in err, err


def test_dynamodb_load_reports_progress_every_1000_items(
    aws_credentials: None, dynamodb_url: str, tmp_path: Path
) -> None:
    reported: list[int] = []

    load_catalog_to(
        DynamoDBSource("progress", REGION, dynamodb_url),
        write_items(tmp_path / "items.csv", 2010),
        progress=reported.append,
    )

    assert reported == [1000, 2000, 2010], reported


async def test_dynamodb_catalog_asks_100_keys_a_call_for_the_needed_attributes(
    client: Any,
) -> None:
    rows: list[dict[str, str | float]] = [
        {"ITEM_ID": f"i-{n}", "TITLE": f"Item {n}", "PRICE": n + 0.5} for n in range(250)
    ]
    assert await fill_table(client, "big", "ITEM_ID", rows) == 250
    catalog = DynamoDBCatalog(
        client, "big", key="ITEM_ID", columns=ItemColumns(attributes=()), timeout=5.0
    )

    found = await catalog.get_items([f"i-{n}" for n in range(250)] + ["missing"])

    assert len(found) == 250, len(found)
    assert catalog.round_trips == 3, catalog.round_trips
    assert found["i-7"].price == 7.5, found["i-7"]
    assert found["i-7"].attributes == {}, found["i-7"]


# DynamoDB answers at most 16 MB per BatchGetItem and leaves the keys past it unprocessed
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html);
# moto's server does the same. Items of 350 KB make a batch of 100 ids take three calls.
LARGE_DESCRIPTION = "x" * 350_000
LARGE_ITEMS = 100


class Clock:
    """Time as the test moves it: each pause of the catalog moves it on by `pause_costs`
    seconds beyond the pause itself."""

    def __init__(self, pause_costs: float = 0.0) -> None:
        self.now = 0.0
        self.pauses: list[float] = []
        self._pause_costs = pause_costs

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds + self._pause_costs


async def large_catalog(client: Any, table: str, clock: Clock, deadline: float) -> DynamoDBCatalog:
    assert await fill_table(client, table, "ITEM_ID", []) == 0
    for n in range(LARGE_ITEMS):  # one by one: a batch of them is a body too large to send
        item = {"ITEM_ID": f"i-{n}", "TITLE": f"Item {n}", "DESCRIPTION": LARGE_DESCRIPTION}
        await client.put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})
    return DynamoDBCatalog(
        client,
        table,
        key="ITEM_ID",
        columns=ItemColumns(attributes=()),
        timeout=deadline,
        sleep=clock.sleep,
        clock=clock,
    )


async def test_dynamodb_catalog_asks_again_for_unprocessed_keys_after_growing_pauses(
    client: Any,
) -> None:
    clock = Clock()
    catalog = await large_catalog(client, "large", clock, deadline=30.0)

    found = await catalog.get_items([f"i-{n}" for n in range(LARGE_ITEMS)])

    assert len(found) == LARGE_ITEMS, len(found)
    assert catalog.round_trips == 3, catalog.round_trips
    assert clock.pauses == [0.05, 0.1], clock.pauses
    assert found["i-99"].description == LARGE_DESCRIPTION, found["i-99"].title


async def test_dynamodb_catalog_gives_up_on_unprocessed_keys_at_the_deadline(
    client: Any,
) -> None:
    clock = Clock(pause_costs=29.9)  # the first pause leaves no time for the second
    catalog = await large_catalog(client, "large-late", clock, deadline=30.0)

    with pytest.raises(CatalogUnavailable, match="within 30 s"):
        await catalog.get_items([f"i-{n}" for n in range(LARGE_ITEMS)])

    assert catalog.round_trips == 2, catalog.round_trips
    assert clock.pauses == [0.05], clock.pauses
