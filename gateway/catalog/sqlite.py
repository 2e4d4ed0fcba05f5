"""The catalog on a SQLite file (built by `gateway.catalog.load`), read with aiosqlite."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite

from gateway.observations import CatalogBatch, Observer
from schema.ports import CatalogItem

CATALOG_FIELDS = ("title", "description", "image_url", "price", "category")
SCHEMA_VERSION = 1  # PRAGMA user_version of a catalog file; bump when the table changes

CREATE_TABLE = """
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
COLUMNS = ("id", *CATALOG_FIELDS, "attributes")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM items WHERE id IN "


class CatalogError(RuntimeError):
    """The catalog file cannot be used; the message names the file and what to do."""


class SqliteCatalog:
    """The `Catalog` port on a SQLite file, through one read-only connection for the app's life.

    `round_trips` counts the queries `get_items` has sent, so tests and the benchmark can check
    that a whole GraphQL query costs one. Open it with `SqliteCatalog.open(path)`. `observer`
    hears of every batch looked up.
    """

    source = "sqlite"

    def __init__(
        self,
        connection: aiosqlite.Connection,
        path: Path,
        *,
        max_variables: int | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.path = path
        self.observer = observer
        self.round_trips = 0
        self.max_variables = max_variables or sqlite_variable_limit()
        self._connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, path: Path, *, max_variables: int | None = None, observer: Observer | None = None
    ) -> AsyncIterator[SqliteCatalog]:
        """Open the catalog read-only, check it is one, and close it on exit."""
        uri = await asyncio.to_thread(_read_only_uri, path)
        async with aiosqlite.connect(uri, uri=True) as connection:
            await connection.execute("PRAGMA query_only = ON")
            await _check_schema(connection, path)
            yield cls(connection, path, max_variables=max_variables, observer=observer)

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items found among `item_ids`, in one query (one per `max_variables` ids)."""
        if self.observer is None:
            return await self._get_items(item_ids)
        started = time.perf_counter()
        found: dict[str, CatalogItem] = {}
        ok = False
        try:
            found = await self._get_items(item_ids)
            ok = True
        finally:
            seconds = time.perf_counter() - started
            self.observer.catalog_batch(
                CatalogBatch(
                    source=self.source,
                    ids=len(item_ids),
                    found=len(found),
                    ok=ok,
                    started_ns=time.time_ns() - int(seconds * 1e9),
                    seconds=seconds,
                )
            )
        return found

    async def _get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
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
    if version != SCHEMA_VERSION or not set(COLUMNS) <= columns:
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
