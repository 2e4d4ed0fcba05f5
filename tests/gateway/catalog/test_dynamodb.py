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
