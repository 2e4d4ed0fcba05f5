"""The catalog in a DynamoDB table, read with BatchGetItem through aiobotocore."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gateway.catalog.columns import ItemColumns
from schema.ports import CatalogItem, CatalogUnavailable

logger = logging.getLogger(__name__)

MAX_BATCH_GET_KEYS = 100  # BatchGetItem's limit per call
FIRST_BACKOFF = 0.05  # seconds before retrying UnprocessedKeys; doubled each time
MAX_BACKOFF = 1.0


class DynamoDBCatalog:
    """The `Catalog` port on a DynamoDB table whose partition key is the item id.

    `client` is a dynamodb client from the app's lifespan (the same aiobotocore session as
    Personalize's). Each lookup sends one BatchGetItem per 100 ids, concurrently, projecting
    only the key and `columns`' attributes; keys DynamoDB leaves unprocessed are asked for
    again after a growing pause until `timeout` seconds have passed since the lookup began.
    `round_trips` counts the BatchGetItem calls.
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        key: str,
        columns: ItemColumns,
        timeout: float,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table = table
        self.round_trips = 0
        self._client = client
        self._key = key
        self._columns = columns
        self._timeout = timeout
        self._sleep = sleep
        self._clock = clock
        names = [key, *(name for name in columns.columns if name != key)]
        placeholders = {f"#a{index}": name for index, name in enumerate(names)}
        self._projection = {
            "ProjectionExpression": ", ".join(placeholders),
            "ExpressionAttributeNames": placeholders,
        }

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items found among `item_ids`: one BatchGetItem per 100 of them."""
        unique = list(dict.fromkeys(item_ids))
        chunks = [
            unique[start : start + MAX_BATCH_GET_KEYS]
            for start in range(0, len(unique), MAX_BATCH_GET_KEYS)
        ]
        deadline = self._clock() + self._timeout
        try:
            async with asyncio.timeout(self._timeout):
                answers = await asyncio.gather(*(self._get(chunk, deadline) for chunk in chunks))
        except TimeoutError as error:
            logger.warning(
                "DynamoDB table %s gave no answer within %g s", self.table, self._timeout
            )
            raise CatalogUnavailable(
                f"The catalog did not answer within {self._timeout:g} s."
            ) from error
        except (ClientError, BotoCoreError) as error:
            logger.error("DynamoDB table %s cannot be read: %s", self.table, error)
            raise CatalogUnavailable("The catalog cannot be read.") from error
        found: dict[str, CatalogItem] = {}
        for records in answers:
            for record in records:
                item = self._item(record)
                found[item.id] = item
        return found

    async def ping(self) -> None:
        """Raise `CatalogUnavailable` unless the table can be described."""
        try:
            await self._client.describe_table(TableName=self.table)
        except (ClientError, BotoCoreError) as error:
            raise CatalogUnavailable(f"DynamoDB table {self.table}: {error}") from error

    async def _get(self, item_ids: list[str], deadline: float) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            self.table: {
                "Keys": [{self._key: {"S": item_id}} for item_id in item_ids],
                **self._projection,
            }
        }
        records: list[dict[str, Any]] = []
        backoff = FIRST_BACKOFF
        while True:
            self.round_trips += 1
            response = await self._client.batch_get_item(RequestItems=request)
            records.extend(response.get("Responses", {}).get(self.table, ()))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return records
            if self._clock() + backoff > deadline:
                raise TimeoutError("UnprocessedKeys left at the deadline")
            await self._sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _item(self, record: Mapping[str, Any]) -> CatalogItem:
        item_id = str(decode(record[self._key]))
        values = ((name, decode(value)) for name, value in record.items() if name != self._key)
        return self._columns.item(item_id, values)


def decode(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value (`{"S": "red"}`, `{"N": "19.5"}`…) as a plain Python value."""
    kind, data = next(iter(value.items()))
    if kind == "S":
        return data
    if kind == "N":
        number = Decimal(data)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "L":
        return [decode(entry) for entry in data]
    if kind == "M":
        return {name: decode(entry) for name, entry in data.items()}
    if kind in ("SS", "NS"):
        return sorted(data)
    return None  # binary values have no place in an item's details


def encode(value: str | float) -> dict[str, str]:
    """A CSV value as a DynamoDB attribute value: a number for a float, else a string."""
    if isinstance(value, float):
        return {"N": repr(value)}
    return {"S": value}


MAX_BATCH_WRITE_ITEMS = 25  # BatchWriteItem's limit per call


async def fill_table(
    client: Any,
    table: str,
    key: str,
    items: Iterable[Mapping[str, str | float]],
    *,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 1000,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> int:
    """Create `table` (on-demand, `key` its string partition key) unless it exists, then put
    `items` (column -> value, the id under `key`) with BatchWriteItem, 25 at a time, retrying
    what DynamoDB leaves unprocessed. Returns the item count; `progress` gets the running one.
    """
    try:
        await client.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        await client.get_waiter("table_exists").wait(
            TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
    count = 0
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append({"PutRequest": {"Item": {name: encode(v) for name, v in item.items()}}})
        if len(batch) == MAX_BATCH_WRITE_ITEMS:
            await _write(client, table, batch, sleep)
            count, batch = count + len(batch), []
            if progress is not None and count % progress_every == 0:
                progress(count)
    if batch:
        await _write(client, table, batch, sleep)
        count += len(batch)
    return count


async def _write(
    client: Any, table: str, batch: list[dict[str, Any]], sleep: Callable[[float], Awaitable[Any]]
) -> None:
    request: dict[str, Any] = {table: batch}
    backoff = FIRST_BACKOFF
    while request:
        response = await client.batch_write_item(RequestItems=request)
        request = response.get("UnprocessedItems") or {}
        if request:
            await sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
