import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from gateway.catalog.load import CatalogLoadError, build_column_map, load_catalog
from gateway.catalog.sqlite import (
    CatalogError,
    SqliteCatalog,
    sqlite_variable_limit,
)
from schema.ports import CatalogItem, CatalogUnavailable

ITEMS_CSV = """\
ITEM_ID,TITLE,DESCRIPTION,PRICE,CATEGORY,IMAGE_URL,BRAND,COLOR
i-1,Trail runner,"Light, grippy shoe",89.5,shoes,/images/items/i-1.svg,Acme,red
i-2,Rain boot,,,boots,,Nimbus,
i-3,Wool hat,Warm,19,hats,/images/items/i-3.svg,,grey
"""


def write_csv(directory: Path, text: str, name: str = "items.csv") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


async def get_items(db: Path, ids: list[str], **options: Any) -> tuple[dict[str, CatalogItem], int]:
    async with SqliteCatalog.open(db, **options) as catalog:
        items = await catalog.get_items(ids)
        return items, catalog.round_trips


async def test_catalog_loaded_from_csv_maps_columns_and_keeps_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)

    items, _ = await get_items(db, ["i-1", "i-2"])

    assert items == {
        "i-1": CatalogItem(
            id="i-1",
            title="Trail runner",
            description="Light, grippy shoe",
            image_url="/images/items/i-1.svg",
            price=89.5,
            category="shoes",
            attributes={"BRAND": "Acme", "COLOR": "red"},
        ),
        "i-2": CatalogItem(
            id="i-2", title="Rain boot", category="boots", attributes={"BRAND": "Nimbus"}
        ),
    }


def test_catalog_load_returns_the_item_count_and_reports_progress(tmp_path: Path) -> None:
    reported: list[int] = []

    count = load_catalog(
        write_csv(tmp_path, ITEMS_CSV), tmp_path / "c.db", progress=reported.append
    )

    assert (count, reported) == (3, [3])


async def test_catalog_column_map_override_sends_default_column_to_attributes(
    tmp_path: Path,
) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db, build_column_map({"brand": "title"}))

    items, _ = await get_items(db, ["i-1"])

    assert (items["i-1"].title, items["i-1"].attributes) == (
        "Acme",
        {"TITLE": "Trail runner", "COLOR": "red"},
    )


async def test_catalog_header_names_are_case_insensitive(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, "item_id,Title,price\ni-9,Scarf,5\n"), db)

    items, _ = await get_items(db, ["i-9"])

    assert items == {"i-9": CatalogItem(id="i-9", title="Scarf", price=5.0)}


async def test_catalog_many_ids_cost_one_round_trip(tmp_path: Path) -> None:
    rows = "".join(f"i-{n},Item {n},,{n},c,,,\n" for n in range(1000))
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV.splitlines()[0] + "\n" + rows), db)
    ids = [f"i-{n}" for n in range(0, 1200, 3)] * 2  # repeated, some unknown

    items, round_trips = await get_items(db, ids)

    assert (len(items), round_trips) == (334, 1)


async def test_catalog_ids_past_the_variable_limit_are_chunked(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)

    items, round_trips = await get_items(db, ["i-1", "i-2", "i-3", "i-4", "i-5"], max_variables=2)

    assert (sorted(items), round_trips) == (["i-1", "i-2", "i-3"], 3)


async def test_catalog_variable_limit_is_sqlites(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)
    with closing(sqlite3.connect(":memory:")) as probe:
        expected = probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)

    async with SqliteCatalog.open(db) as catalog:
        assert catalog.max_variables == expected == sqlite_variable_limit()


async def test_catalog_no_ids_sends_no_query(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)

    assert await get_items(db, []) == ({}, 0)


async def test_catalog_connection_is_read_only(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)

    async with SqliteCatalog.open(db) as catalog:
        with pytest.raises(sqlite3.OperationalError, match=r"readonly|query_only"):
            await catalog._connection.execute("DELETE FROM items")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ITEM_ID,TITLE,PRICE\ni-1,Shoe,12\ni-2,Boot,twelve\n",
            "items.csv, line 3, column PRICE: 'twelve' is not a number",
        ),
        (
            "ITEM_ID,TITLE,PRICE\ni-1,Shoe,12\ni-2,Boot,nan\n",
            "items.csv, line 3, column PRICE: 'nan' is not a number",
        ),
        (
            'ITEM_ID,TITLE\ni-1,"Two\nlines"\ni-1,Again\n',
            "items.csv, line 4, column ITEM_ID: item 'i-1' is already on line 2",
        ),
        ("ITEM_ID,TITLE\ni-1,Shoe,extra\n", "items.csv, line 2: 3 fields, but the header has 2"),
        ("ITEM_ID,TITLE\n,Shoe\n", "items.csv, line 2, column ITEM_ID: an item id has 1 to 256"),
        ("TITLE,PRICE\nShoe,1\n", "items.csv, line 1: no ITEM_ID column in the header"),
    ],
)
def test_catalog_bad_row_names_file_line_and_column(
    tmp_path: Path, text: str, expected: str
) -> None:
    csv_path = write_csv(tmp_path, text)

    with pytest.raises(CatalogLoadError) as caught:
        load_catalog(csv_path, tmp_path / "catalog.db")

    assert str(caught.value).startswith(f"{csv_path.parent}/{expected}")


def test_catalog_failed_load_keeps_the_previous_file(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)
    before = db.read_bytes()

    with pytest.raises(CatalogLoadError):
        load_catalog(write_csv(tmp_path, "ITEM_ID,PRICE\ni-1,x\n", "bad.csv"), db)

    assert (db.read_bytes() == before, sorted(p.name for p in tmp_path.iterdir())) == (
        True,
        ["bad.csv", "catalog.db", "items.csv"],
    )


def test_catalog_column_map_naming_a_missing_column_refused(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path, ITEMS_CSV)

    with pytest.raises(CatalogLoadError, match="column map names NAME, which the header"):
        load_catalog(csv_path, tmp_path / "c.db", build_column_map({"NAME": "title"}))


def test_catalog_column_map_to_unknown_field_refused() -> None:
    with pytest.raises(CatalogLoadError, match="'colour' is not a catalog field"):
        build_column_map({"COLOR": "colour"})


async def test_catalog_missing_file_says_how_to_build_it(tmp_path: Path) -> None:
    db = tmp_path / "nowhere.db"

    with pytest.raises(
        CatalogError, match=r"does not exist; .* catalog load ITEMS_CSV --to sqlite:///"
    ):
        async with SqliteCatalog.open(db):
            pass


async def test_catalog_file_of_another_kind_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE things (id TEXT)")
    connection.close()

    with pytest.raises(CatalogError, match="is not a catalog this gateway can read"):
        async with SqliteCatalog.open(db):
            pass


async def test_catalog_ping_fails_when_the_table_is_gone(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)

    async with SqliteCatalog.open(db) as catalog:
        with sqlite3.connect(db) as writer:
            writer.execute("DROP TABLE items")
        writer.close()
        with pytest.raises(CatalogUnavailable, match="no such table: items"):
            await catalog.ping()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_catalog_follows_a_new_file_within_a_second(tmp_path: Path) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)
    clock = Clock()

    async with SqliteCatalog.open(db, clock=clock) as catalog:
        load_catalog(write_csv(tmp_path, ITEMS_CSV.replace("Wool hat", "Felt hat")), db)
        clock.now = 0.5
        before = (await catalog.get_items(["i-3"]))["i-3"].title
        clock.now = 1.0
        after = (await catalog.get_items(["i-3"]))["i-3"].title

    assert before == "Wool hat", before
    assert after == "Felt hat", after


async def test_catalog_keeps_the_old_file_when_the_new_one_is_not_a_catalog(
    tmp_path: Path,
) -> None:
    db = tmp_path / "catalog.db"
    load_catalog(write_csv(tmp_path, ITEMS_CSV), db)
    clock = Clock()

    async with SqliteCatalog.open(db, clock=clock) as catalog:
        other = tmp_path / "other.db"
        with sqlite3.connect(other) as connection:
            connection.execute("CREATE TABLE things (id TEXT)")
        connection.close()
        other.replace(db)
        clock.now = 2.0
        found = await catalog.get_items(["i-3"])

    assert found["i-3"].title == "Wool hat", found
