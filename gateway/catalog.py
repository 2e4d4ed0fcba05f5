"""The item catalog: a SQLite file built from a Personalize items CSV, read with aiosqlite."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import math
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite

from schema.ports import CatalogItem

CATALOG_FIELDS = ("title", "description", "image_url", "price", "category")
DEFAULT_COLUMN_MAP: Mapping[str, str] = {
    "TITLE": "title",
    "DESCRIPTION": "description",
    "IMAGE_URL": "image_url",
    "PRICE": "price",
    "CATEGORY": "category",
}
ITEM_ID_COLUMN = "ITEM_ID"
MAX_ITEM_ID_LENGTH = 256  # Personalize's ItemID limit
SCHEMA_VERSION = 1  # PRAGMA user_version of a catalog file; bump when the table changes
PROGRESS_EVERY = 1000

_CREATE_TABLE = """
CREATE TABLE items (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT,
    description TEXT,
    image_url TEXT,
    price REAL,
    category TEXT,
    attributes TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID
"""
_COLUMNS = ("id", *CATALOG_FIELDS, "attributes")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM items WHERE id IN "


class CatalogError(RuntimeError):
    """The catalog file cannot be used; the message names the file and what to do."""


class CatalogLoadError(ValueError):
    """A row or column of the items CSV cannot go into the catalog; names file, line and column."""


class SqliteCatalog:
    """The `Catalog` port on a SQLite file, through one read-only connection for the app's life.

    `round_trips` counts the queries `get_items` has sent, so tests and the benchmark can check
    that a whole GraphQL query costs one. Open it with `SqliteCatalog.open(path)`.
    """

    def __init__(
        self, connection: aiosqlite.Connection, path: Path, *, max_variables: int | None = None
    ) -> None:
        self.path = path
        self.round_trips = 0
        self.max_variables = max_variables or sqlite_variable_limit()
        self._connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, path: Path, *, max_variables: int | None = None
    ) -> AsyncIterator[SqliteCatalog]:
        """Open the catalog read-only, check it is one, and close it on exit."""
        uri = await asyncio.to_thread(_read_only_uri, path)
        async with aiosqlite.connect(uri, uri=True) as connection:
            await connection.execute("PRAGMA query_only = ON")
            await _check_schema(connection, path)
            yield cls(connection, path, max_variables=max_variables)

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items found among `item_ids`, in one query (one per `max_variables` ids)."""
        unique = list(dict.fromkeys(item_ids))
        found: dict[str, CatalogItem] = {}
        for start in range(0, len(unique), self.max_variables):
            chunk = unique[start : start + self.max_variables]
            sql = _SELECT + "(" + ",".join("?" * len(chunk)) + ")"
            self.round_trips += 1
            for row in await self._connection.execute_fetchall(sql, chunk):
                item = _item_from_row(row)
                found[item.id] = item
        return found

    async def ping(self) -> None:
        """Raise `CatalogError` unless the items table can be read."""
        try:
            await self._connection.execute_fetchall("SELECT 1 FROM items LIMIT 1")
        except (sqlite3.Error, ValueError) as error:
            raise CatalogError(f"catalog {self.path} cannot be read: {error}") from error


def check_catalog_file(path: Path) -> None:
    """Raise `CatalogError`, saying how to build it, unless the catalog file exists."""
    if not path.is_file():
        raise CatalogError(
            f"catalog file {path} does not exist; build it from your items CSV with: "
            f"personalize-gateway catalog load ITEMS_CSV --db {path}"
        )


def _read_only_uri(path: Path) -> str:
    check_catalog_file(path)
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def sqlite_variable_limit() -> int:
    """How many `?` one statement may hold in this SQLite build (32766 by default since 3.32)."""
    with contextlib.closing(sqlite3.connect(":memory:")) as probe:
        return probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


async def _check_schema(connection: aiosqlite.Connection, path: Path) -> None:
    rows = list(await connection.execute_fetchall("PRAGMA user_version"))
    version = rows[0][0]
    columns = {row[1] for row in await connection.execute_fetchall("PRAGMA table_info(items)")}
    if version != SCHEMA_VERSION or not set(_COLUMNS) <= columns:
        raise CatalogError(
            f"{path} is not a catalog this gateway can read (schema version {version}, "
            f"expected {SCHEMA_VERSION}); rebuild it with: "
            f"personalize-gateway catalog load ITEMS_CSV --db {path}"
        )


def _item_from_row(row: sqlite3.Row | tuple[Any, ...]) -> CatalogItem:
    item_id, title, description, image_url, price, category, attributes = row
    return CatalogItem(
        id=item_id,
        title=title,
        description=description,
        image_url=image_url,
        price=price,
        category=category,
        attributes=json.loads(attributes),
    )


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
            connection.execute(_CREATE_TABLE)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            rows = _read_items(csv_path, mapping, progress)
            placeholders = ",".join("?" * len(_COLUMNS))
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
    if not 1 <= len(item_id) <= MAX_ITEM_ID_LENGTH:
        raise CatalogLoadError(
            f"{csv_path}, line {line}, column {ITEM_ID_COLUMN}: an item id has 1 to "
            f"{MAX_ITEM_ID_LENGTH} characters, this one {len(item_id)}"
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
