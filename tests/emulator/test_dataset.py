from __future__ import annotations

from pathlib import Path

import pytest

from emulator.dataset import Dataset, DatasetError, Interaction, load_dataset

ITEMS = "item_id,Title,CATEGORY,PRICE\ni1,Trail Runner,shoes,89.99\ni2,Dome Tent,outdoor,240.00\n"
INTERACTIONS = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,i1,100,view\n"


def write(directory: Path, **files: str) -> Path:
    for name, text in files.items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    return directory


def load_error(directory: Path, **files: str) -> str:
    with pytest.raises(DatasetError) as raised:
        load_dataset(write(directory, **files))
    return str(raised.value)


def test_load_dataset_reads_the_three_files(tmp_path: Path) -> None:
    write(
        tmp_path,
        items=ITEMS,
        users="user_id,AGE,membership\nu1,34,plus\nu2,61,basic\n",
        interactions=(
            "user_id,Item_Id,timestamp,EVENT_TYPE,EVENT_VALUE,SESSION\n"
            "u2,i2,300,purchase,240.0,s9\n"
            "u1,i1,100,view,,s1\n"
            "u1,i2,200,cart,1.5,s1\n"
        ),
    )

    dataset = load_dataset(tmp_path)

    assert dataset == Dataset(
        items={
            "i1": {"TITLE": "Trail Runner", "CATEGORY": "shoes", "PRICE": "89.99"},
            "i2": {"TITLE": "Dome Tent", "CATEGORY": "outdoor", "PRICE": "240.00"},
        },
        users={
            "u1": {"AGE": "34", "MEMBERSHIP": "plus"},
            "u2": {"AGE": "61", "MEMBERSHIP": "basic"},
        },
        interactions=[
            Interaction("u1", "i1", 100, "view"),
            Interaction("u1", "i2", 200, "cart", 1.5),
            Interaction("u2", "i2", 300, "purchase", 240.0),
        ],
    )


def test_load_dataset_without_users_file_has_no_users(tmp_path: Path) -> None:
    write(tmp_path, items=ITEMS, interactions=INTERACTIONS)

    dataset = load_dataset(tmp_path)

    assert dataset.users == {}


def test_load_dataset_keeps_file_order_for_equal_timestamps(tmp_path: Path) -> None:
    write(
        tmp_path,
        items=ITEMS,
        interactions="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE\nu1,i2,5,view\nu1,i1,5,cart\nu0,i1,1,view\n",
    )

    dataset = load_dataset(tmp_path)

    assert [(i.user_id, i.item_id) for i in dataset.interactions] == [
        ("u0", "i1"),
        ("u1", "i2"),
        ("u1", "i1"),
    ]


def test_load_dataset_without_items_file_names_it(tmp_path: Path) -> None:
    message = load_error(tmp_path, interactions=INTERACTIONS)

    assert message == f"items.csv: file not found in {tmp_path}"


def test_load_dataset_with_empty_file_names_it(tmp_path: Path) -> None:
    message = load_error(tmp_path, items=ITEMS, interactions="")

    assert message == "interactions.csv, line 1: the file is empty, expected a header row"


def test_load_dataset_with_missing_column_names_it(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, items=ITEMS, interactions="USER_ID,ITEM_ID,EVENT_TYPE\nu1,i1,view\n"
    )

    assert message == (
        "interactions.csv, line 1, column TIMESTAMP: required column missing "
        "(header has USER_ID, ITEM_ID, EVENT_TYPE)"
    )


def test_load_dataset_with_wrong_field_count_names_the_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, items=ITEMS, interactions=INTERACTIONS + "u1,i2,200\n")

    assert message == (
        "interactions.csv, line 3: expected 4 fields (USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE), got 3"
    )


def test_load_dataset_with_empty_user_id_names_the_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, items=ITEMS, interactions=INTERACTIONS + ",i2,200,view\n")

    assert message == "interactions.csv, line 3, column USER_ID: empty id"


def test_load_dataset_with_too_long_item_id_names_the_limit(tmp_path: Path) -> None:
    message = load_error(tmp_path, items=ITEMS + "x" * 257 + ",Lamp,home,9.99\n")

    assert message == (
        "items.csv, line 4, column ITEM_ID: id of 257 characters, the limit is 256 "
        f"('{'x' * 37}...')"
    )


def test_load_dataset_with_text_timestamp_quotes_it(tmp_path: Path) -> None:
    rows = "".join(f"u1,i1,{100 + line},view\n" for line in range(2, 17))

    message = load_error(
        tmp_path, items=ITEMS, interactions=INTERACTIONS + rows + "u1,i1,abc,view\n"
    )

    assert message == (
        "interactions.csv, line 18, column TIMESTAMP: "
        "expected an integer epoch-seconds value, got 'abc'"
    )


def test_load_dataset_with_text_event_value_quotes_it(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        items=ITEMS,
        interactions="USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu1,i1,100,view,lots\n",
    )

    assert message == "interactions.csv, line 2, column EVENT_VALUE: expected a number, got 'lots'"


def test_load_dataset_with_duplicate_item_names_both_lines(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, items=ITEMS + "i1,Road Runner,shoes,99.00\n", interactions=INTERACTIONS
    )

    assert message == (
        "items.csv, line 4, column ITEM_ID: duplicate ITEM_ID 'i1' (first seen on line 2)"
    )


def test_load_dataset_counts_lines_inside_quoted_fields(tmp_path: Path) -> None:
    items = 'ITEM_ID,DESCRIPTION\ni1,"two\nlines"\n,empty id\n'

    message = load_error(tmp_path, items=items, interactions=INTERACTIONS)

    assert message == "items.csv, line 4, column ITEM_ID: empty id"


def test_load_dataset_with_duplicate_user_names_users_file(tmp_path: Path) -> None:
    message = load_error(
        tmp_path,
        items=ITEMS,
        users="USER_ID,AGE\nu1,30\nu1,31\n",
        interactions=INTERACTIONS,
    )

    assert (
        message
        == "users.csv, line 3, column USER_ID: duplicate USER_ID 'u1' (first seen on line 2)"
    )


def test_load_dataset_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(ITEMS, encoding="utf-8-sig")
    (tmp_path / "interactions.csv").write_text(INTERACTIONS, encoding="utf-8")

    dataset = load_dataset(tmp_path)

    assert list(dataset.items) == ["i1", "i2"]


def test_load_dataset_with_empty_event_type_names_the_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, items=ITEMS, interactions=INTERACTIONS + "u1,i2,200,\n")

    assert message == (
        "interactions.csv, line 3, column EVENT_TYPE: expected an event type of 1 to 256 "
        "characters, got ''"
    )


def test_load_dataset_with_latin1_bytes_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_bytes(b"ITEM_ID,TITLE\ni1,Caf\xe9\n")

    message = load_error(tmp_path, interactions=INTERACTIONS)

    assert message == "items.csv, line 2: not UTF-8 text (byte 0xe9)"
