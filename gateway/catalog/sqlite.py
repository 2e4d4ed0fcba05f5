"""The catalog on a SQLite file (built by `gateway.catalog.load`), read with aiosqlite."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite

from gateway.catalog.columns import CATALOG_FIELDS
from schema.ports import CatalogItem, CatalogUnavailable

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1  # PRAGMA user_version of a catalog file; bump when the table changes
RELOAD_CHECK_INTERVAL = 1.0  # seconds between two looks at the file for a new catalog

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

FileIdentity = tuple[int, int, int, int]  # device, inode, mtime (ns), size


class CatalogError(RuntimeError):
    """The catalog file cannot be used; the message names the file and what to do."""


class SqliteCatalog:
    """The `Catalog` port on a SQLite file, through one read-only connection.

    `round_trips` counts the queries `get_items` has sent, so tests and the benchmark can check
    that a whole GraphQL query costs one. `catalog load` replaces the file by a rename: at most
    once every `RELOAD_CHECK_INTERVAL` seconds (on `clock`), a lookup checks whether the path
    names another file and, if so, reads the new one from then on. Open it with
    `SqliteCatalog.open(path)`.
    """

    source = "sqlite"

    def __init__(
        self,
        connection: aiosqlite.Connection,
        path: Path,
        *,
        max_variables: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.round_trips = 0
        self.reloads = 0
        self.max_variables = max_variables or sqlite_variable_limit()
        self._connection = connection
        self._clock = clock
        self._identity = _identity(path)
        self._checked_at = clock()
        self._reloading = asyncio.Lock()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        path: Path,
        *,
        max_variables: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsyncIterator[SqliteCatalog]:
        """Open the catalog read-only, check it is one, and close it on exit."""
        catalog = cls(await _connect(path), path, max_variables=max_variables, clock=clock)
        try:
            yield catalog
        finally:
            await catalog._connection.close()

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items found among `item_ids`, in one query (one per `max_variables` ids)."""
        await self._follow_new_file()
        unique = list(dict.fromkeys(item_ids))
        found: dict[str, CatalogItem] = {}
        try:
            for start in range(0, len(unique), self.max_variables):
                chunk = unique[start : start + self.max_variables]
                sql = _SELECT + "(" + ",".join("?" * len(chunk)) + ")"
                self.round_trips += 1
                for row in await self._connection.execute_fetchall(sql, chunk):
                    item = _item_from_row(row)
                    found[item.id] = item
        except (sqlite3.Error, ValueError) as error:
            logger.error("Catalog %s cannot be read: %s", self.path, error)
            raise CatalogUnavailable("The catalog cannot be read.") from error
        return found

    async def ping(self) -> None:
        """Raise `CatalogUnavailable` unless the items table can be read."""
        try:
            await self._connection.execute_fetchall("SELECT 1 FROM items LIMIT 1")
        except (sqlite3.Error, ValueError) as error:
            raise CatalogUnavailable(f"catalog {self.path} cannot be read: {error}") from error

    async def _follow_new_file(self) -> None:
        now = self._clock()
        if now - self._checked_at < RELOAD_CHECK_INTERVAL:
            return
        self._checked_at = now
        identity = _identity(self.path)
        if identity == self._identity or identity is None:
            return
        async with self._reloading:
            if identity == self._identity:
                return
            try:
                connection = await _connect(self.path)
            except (CatalogError, sqlite3.Error) as error:
                logger.error(
                    "Catalog %s changed but cannot be read; keeping the old: %s", self.path, error
                )
                self._identity = identity
                return
            old, self._connection, self._identity = self._connection, connection, identity
            self.reloads += 1
            logger.info("Catalog %s changed on disk: reading the new file", self.path)
            await old.close()


def check_catalog_file(path: Path) -> None:
    """Raise `CatalogError`, saying how to build it, unless the catalog file exists."""
    if not path.is_file():
        raise CatalogError(
            f"catalog file {path} does not exist; build it from your items CSV with: "
            f"personalize-gateway catalog load ITEMS_CSV --to sqlite:///{path}"
        )


async def _connect(path: Path) -> aiosqlite.Connection:
    uri = await asyncio.to_thread(_read_only_uri, path)
    connection = await aiosqlite.connect(uri, uri=True)
    try:
        await connection.execute("PRAGMA query_only = ON")
        await _check_schema(connection, path)
    except BaseException:
        await connection.close()
        raise
    return connection


def _identity(path: Path) -> FileIdentity | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size)


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
            f"personalize-gateway catalog load ITEMS_CSV --to sqlite:///{path}"
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
