"""`catalog load --to postgresql://…` from the command line into a throwaway PostgreSQL, and
the catalog reading what it wrote."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway.catalog.postgresql import PostgresqlCatalog
from gateway.cli import main
from schema.ports import CatalogItem
from tests.catalog_servers import postgres_bin
from tests.servers import free_port


def write_items(path: Path, count: int, *, title: str = "Item") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ITEM_ID", "TITLE", "PRICE", "COLOUR"])
        writer.writerows([f"i-{n}", f"{title} {n}", f"{n}.5", "red"] for n in range(count))
    return path


def count_rows(url: str, table: str) -> int:
    async def count() -> Any:
        connection = await asyncpg.connect(url)
        try:
            return await connection.fetchval(f"SELECT count(*) FROM {table}")
        finally:
            await connection.close()

    rows: int = asyncio.run(count())
    return rows


def read_items(url: str, table: str, item_ids: list[str]) -> dict[str, CatalogItem]:
    async def read() -> dict[str, CatalogItem]:
        async with PostgresqlCatalog.open(url, table, query_timeout=5.0) as catalog:
            return await catalog.get_items(item_ids)

    return asyncio.run(read())


def test_catalog_load_creates_and_fills_a_table(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = write_items(tmp_path / "items.csv", 1030)

    code = main(["catalog", "load", str(items), "--to", f"{postgres_url}?table=cli_items"])

    err = capsys.readouterr().err
    assert code == 0, err
    assert "wrote 1,030 items" in err, err
    rows = count_rows(postgres_url, "cli_items")
    assert rows == 1030, rows


def test_catalog_load_again_replaces_the_rows(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"{postgres_url}?table=reloaded"
    assert main(["catalog", "load", str(write_items(tmp_path / "a.csv", 20)), "--to", target]) == 0
    smaller = write_items(tmp_path / "b.csv", 5, title="New")

    code = main(["catalog", "load", str(smaller), "--to", target])

    assert code == 0, capsys.readouterr().err
    rows = count_rows(postgres_url, "reloaded")
    assert rows == 5, rows
    found = read_items(postgres_url, "reloaded", ["i-4", "i-7"])
    assert sorted(found) == ["i-4"], sorted(found)
    assert found["i-4"].title == "New 4", found["i-4"]
    assert found["i-4"].price == 4.5, found["i-4"]
    assert found["i-4"].attributes == {"COLOUR": "red"}, found["i-4"]


def test_catalog_load_to_an_unreachable_postgresql_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = write_items(tmp_path / "items.csv", 3)
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres?table=items"

    code = main(["catalog", "load", str(items), "--to", url])

    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err, err


def test_debian_postgresql_programs_are_found_off_path(tmp_path: Path) -> None:
    for version in ("9.6", "13", "15"):
        programs = tmp_path / "usr/lib/postgresql" / version / "bin"
        programs.mkdir(parents=True)
        (programs / "initdb").touch()

    found = postgres_bin(tmp_path)

    assert found == tmp_path / "usr/lib/postgresql/15/bin", found
