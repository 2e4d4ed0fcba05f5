"""The catalog in a PostgreSQL table, read through an asyncpg pool."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import asyncpg

from gateway.catalog.columns import CATALOG_FIELDS
from schema.ports import CatalogItem, CatalogUnavailable

logger = logging.getLogger(__name__)

COLUMNS = ("id", *CATALOG_FIELDS, "attributes")


def create_table_sql(table: str) -> str:
    """The catalog's table: the same columns as the SQLite catalog, `attributes` as jsonb."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (id text PRIMARY KEY, title text, "
        "description text, image_url text, price double precision, category text, "
        "attributes jsonb NOT NULL DEFAULT '{}')"
    )


class PostgresqlCatalog:
    """The `Catalog` port on a PostgreSQL table (or view) with the catalog's columns.

    One `SELECT … WHERE id = ANY($1)` per lookup, whatever the number of ids, on a connection
    of `pool`; each within `timeout` seconds. A table with other column names is read through a
    view that renames them. `round_trips` counts the statements. Open it with `open(dsn, …)`.
    """

    def __init__(self, pool: asyncpg.Pool, table: str, *, timeout: float) -> None:
        self.table = table
        self.round_trips = 0
        self._pool = pool
        self._timeout = timeout
        self._select = f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE id = ANY($1::text[])"

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, dsn: str, table: str, *, query_timeout: float, max_connections: int = 10
    ) -> AsyncIterator[PostgresqlCatalog]:
        """A pool for the app's life; it connects lazily, so a down server is not fatal."""
        pool = asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=max_connections,
            timeout=query_timeout,
            command_timeout=query_timeout,
        )
        try:
            await pool
        except (OSError, asyncpg.PostgresError) as error:
            raise CatalogUnavailable(f"PostgreSQL catalog: {error}") from error
        try:
            yield cls(pool, table, timeout=query_timeout)
        finally:
            await pool.close()

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items found among `item_ids`, in one statement."""
        unique = list(dict.fromkeys(item_ids))
        self.round_trips += 1
        try:
            async with asyncio.timeout(self._timeout):
                rows = await self._pool.fetch(self._select, unique)
        except TimeoutError as error:
            logger.warning("PostgreSQL catalog gave no answer within %g s", self._timeout)
            raise CatalogUnavailable(
                f"The catalog did not answer within {self._timeout:g} s."
            ) from error
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            logger.error("PostgreSQL catalog %s cannot be read: %s", self.table, error)
            raise CatalogUnavailable("The catalog cannot be read.") from error
        return {row["id"]: _item(row) for row in rows}

    async def ping(self) -> None:
        """Raise `CatalogUnavailable` unless the table can be read."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._pool.fetch(f"SELECT 1 FROM {self.table} LIMIT 1")
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise CatalogUnavailable(f"PostgreSQL table {self.table}: {error}") from error


def _item(row: Any) -> CatalogItem:
    attributes = row["attributes"]
    return CatalogItem(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        image_url=row["image_url"],
        price=row["price"],
        category=row["category"],
        attributes=json.loads(attributes) if isinstance(attributes, str) else attributes,
    )


async def fill_table(dsn: str, table: str, rows: Iterable[tuple[Any, ...]]) -> int:
    """Create `table` unless it exists and replace its rows by `rows` (in `COLUMNS`' order,
    `attributes` as JSON text) in one transaction: readers see the old rows or the new ones."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(create_table_sql(table))
            await connection.execute(f"DELETE FROM {table}")
            schema, _, name = table.rpartition(".")
            await connection.copy_records_to_table(
                name, records=list(rows), columns=COLUMNS, schema_name=schema or None
            )
            count: int = await connection.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await connection.close()
    return count
