"""Building the catalog: a Personalize items CSV written into a SQLite file (a new file,
renamed into place), a DynamoDB table or a PostgreSQL table."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiobotocore.session import AioSession

from gateway.catalog import dynamodb, postgresql
from gateway.catalog.columns import CATALOG_FIELDS, DEFAULT_COLUMN_MAP
from gateway.catalog.source import CatalogSource, DynamoDBSource, PostgresqlSource, SqliteSource
from gateway.catalog.sqlite import COLUMNS, CREATE_TABLE, SCHEMA_VERSION
from schema.limits import MAX_ID_LENGTH

ITEM_ID_COLUMN = "ITEM_ID"
PROGRESS_EVERY = 1000


class CatalogLoadError(ValueError):
    """A row or column of the items CSV cannot go into the catalog; names file, line and column."""


def build_column_map(overrides: Mapping[str, str]) -> dict[str, str]:
    """The default column map with `overrides` (CSV column -> catalog field) taking precedence.

    A field given a new column leaves its default column to `attributes`.
    """
    overrides = {column.upper(): field for column, field in overrides.items()}
    _check_mapping(overrides)
    remapped = set(overrides.values())
    merged = {
        column: field for column, field in DEFAULT_COLUMN_MAP.items() if field not in remapped
    }
    return merged | overrides


def load_catalog(
    csv_path: Path,
    db_path: Path,
    mapping: Mapping[str, str] = DEFAULT_COLUMN_MAP,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Build the catalog file `db_path` from a Personalize items CSV; return the item count.

    `mapping` sends CSV columns (case-insensitive, as Personalize reads headers) to catalog
    fields; every other column except ITEM_ID goes into `attributes`. The file is written aside
    and renamed into place, so a reader never sees half a catalog and a failed load leaves the
    old one. `progress` is called with the running item count.
    """
    mapping = {column.upper(): field for column, field in mapping.items()}
    _check_mapping(mapping)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        with contextlib.closing(sqlite3.connect(temporary)) as connection:
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.execute(CREATE_TABLE)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            rows = _read_items(csv_path, mapping, progress)
            placeholders = ",".join("?" * len(COLUMNS))
            with connection:
                connection.executemany(f"INSERT INTO items VALUES ({placeholders})", rows)
            count: int = connection.execute("SELECT count(*) FROM items").fetchone()[0]
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, db_path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(count)
    return count


def load_catalog_to(
    source: CatalogSource,
    csv_path: Path,
    mapping: Mapping[str, str] = DEFAULT_COLUMN_MAP,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Fill the catalog `source` names from a Personalize items CSV; return the item count.

    A SQLite file is replaced whole (`load_catalog`); a PostgreSQL table is created if need be
    and its rows replaced in one transaction; a DynamoDB table is created if need be (on
    demand, the item id its partition key) and every item put, under the CSV's column names
    (the mapped ones under TITLE, DESCRIPTION, IMAGE_URL, PRICE and CATEGORY).
    """
    mapping = {column.upper(): field for column, field in mapping.items()}
    _check_mapping(mapping)
    if isinstance(source, SqliteSource):
        return load_catalog(csv_path, source.path, mapping, progress)
    if isinstance(source, PostgresqlSource):
        rows = _read_items(csv_path, mapping, progress)
        count = asyncio.run(postgresql.fill_table(source.dsn, source.table, rows))
    elif isinstance(source, DynamoDBSource):
        count = asyncio.run(_fill_dynamodb(source, csv_path, mapping, progress))
    else:
        raise CatalogLoadError(
            "catalog load writes to sqlite:, dynamodb: or postgresql: catalogs; a product API "
            "is filled by its owner, and personalize: by importing the Items dataset"
        )
    if progress is not None:
        progress(count)
    return count


_FIELD_COLUMNS = {field: column for column, field in DEFAULT_COLUMN_MAP.items()}


async def _fill_dynamodb(
    source: DynamoDBSource,
    csv_path: Path,
    mapping: Mapping[str, str],
    progress: Callable[[int], None] | None,
) -> int:
    def items() -> Iterator[dict[str, str | float]]:
        for row in _read_items(csv_path, mapping, None):
            item_id, *values, attributes = row
            item: dict[str, str | float] = {source.key: item_id}
            for field, value in zip(CATALOG_FIELDS, values, strict=True):
                if value is not None:
                    item[_FIELD_COLUMNS[field]] = value
            yield json.loads(attributes) | item

    session = AioSession()
    async with session.create_client(
        "dynamodb", region_name=source.region, endpoint_url=source.endpoint_url
    ) as client:
        return await dynamodb.fill_table(
            client, source.table, source.key, items(), progress=progress
        )


def _check_mapping(mapping: Mapping[str, str]) -> None:
    if ITEM_ID_COLUMN in mapping:
        raise CatalogLoadError(f"column map: {ITEM_ID_COLUMN} is the item id and cannot be mapped")
    targets = list(mapping.values())
    for column, target in mapping.items():
        if target not in CATALOG_FIELDS:
            raise CatalogLoadError(
                f"column map {column}={target}: {target!r} is not a catalog field "
                f"(one of {', '.join(CATALOG_FIELDS)})"
            )
        if targets.count(target) > 1:
            columns = sorted(column for column, field in mapping.items() if field == target)
            raise CatalogLoadError(f"column map: {' and '.join(columns)} both map to {target}")


def _read_items(
    csv_path: Path, mapping: Mapping[str, str], progress: Callable[[int], None] | None
) -> Iterator[tuple[Any, ...]]:
    with open(csv_path, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        header = [name.strip().upper() for name in _next_row(reader, csv_path) or []]
        if ITEM_ID_COLUMN not in header:
            raise CatalogLoadError(
                f"{csv_path}, line 1: no {ITEM_ID_COLUMN} column in the header "
                f"({', '.join(header)})"
            )
        missing = [
            column
            for column in mapping
            if column not in header and DEFAULT_COLUMN_MAP.get(column) != mapping[column]
        ]
        if missing:
            raise CatalogLoadError(
                f"{csv_path}, line 1: column map names {', '.join(missing)}, which the header "
                f"does not have ({', '.join(header)})"
            )
        seen: dict[str, int] = {}
        line = 1
        while (values := _next_row(reader, csv_path)) is not None:
            line, end = line + 1, reader.line_num
            if values:
                yield _row(csv_path, line, header, values, mapping, seen)
                if progress is not None and len(seen) % PROGRESS_EVERY == 0:
                    progress(len(seen))
            line = end


def _next_row(reader: Any, csv_path: Path) -> list[str] | None:
    try:
        return next(reader)  # type: ignore[no-any-return]
    except StopIteration:
        return None
    except csv.Error as error:
        raise CatalogLoadError(f"{csv_path}, line {reader.line_num}: {error}") from None


def _row(
    csv_path: Path,
    line: int,
    header: list[str],
    values: list[str],
    mapping: Mapping[str, str],
    seen: dict[str, int],
) -> tuple[Any, ...]:
    if len(values) != len(header):
        raise CatalogLoadError(
            f"{csv_path}, line {line}: {len(values)} fields, but the header has {len(header)}"
        )
    record = dict(zip(header, values, strict=True))
    item_id = record.pop(ITEM_ID_COLUMN)
    if not 1 <= len(item_id) <= MAX_ID_LENGTH:
        raise CatalogLoadError(
            f"{csv_path}, line {line}, column {ITEM_ID_COLUMN}: an item id has 1 to "
            f"{MAX_ID_LENGTH} characters, this one {len(item_id)}"
        )
    if item_id in seen:
        raise CatalogLoadError(
            f"{csv_path}, line {line}, column {ITEM_ID_COLUMN}: item {item_id!r} is already "
            f"on line {seen[item_id]}"
        )
    seen[item_id] = line
    fields: dict[str, Any] = dict.fromkeys(CATALOG_FIELDS)
    attributes: dict[str, str] = {}
    for column, value in record.items():
        target = mapping.get(column)
        if target == "price":
            fields["price"] = _price(csv_path, line, column, value)
        elif target is not None:
            fields[target] = value or None
        elif value:
            attributes[column] = value
    return (
        item_id,
        *(fields[name] for name in CATALOG_FIELDS),
        json.dumps(attributes, ensure_ascii=False),
    )


def _price(csv_path: Path, line: int, column: str, value: str) -> float | None:
    if not value.strip():
        return None
    try:
        price = float(value)
    except ValueError:
        price = math.nan
    if not math.isfinite(price):
        raise CatalogLoadError(
            f"{csv_path}, line {line}, column {column}: {value!r} is not a number"
        )
    return price
